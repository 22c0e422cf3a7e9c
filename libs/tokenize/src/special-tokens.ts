import type { TokenizerConfig, TokenizerJson } from './tokenizer-json.js';

/** Ids the post-processor puts around a single sequence when special tokens are added. */
export interface Wrapping {
  prefix: readonly number[];
  suffix: readonly number[];
}

/**
 * transformers classes that ignore tokenizer.json's post-processor and rebuild it from
 * `add_bos_token` (default true) / `add_eos_token` (default false) in tokenizer_config.json.
 */
const REBUILDS_POST_PROCESSOR = new Set([
  'LlamaTokenizer',
  'LlamaTokenizerFast',
  'CodeLlamaTokenizer',
  'CodeLlamaTokenizerFast',
  'GemmaTokenizer',
  'GemmaTokenizerFast',
]);

/**
 * The special tokens `encode(text, add_special_tokens=true)` adds, or undefined for a
 * post-processor this package does not model (the caller then asks the library).
 */
export function promptWrapping(
  json: TokenizerJson,
  config: TokenizerConfig,
  idOf: (token: string) => number | undefined,
): Wrapping | undefined {
  const cls = typeof config.tokenizer_class === 'string' ? config.tokenizer_class : '';
  if (REBUILDS_POST_PROCESSOR.has(cls)) {
    const bos = tokenContent(config.bos_token);
    const eos = tokenContent(config.eos_token);
    const addBos = config.add_bos_token !== false;
    const addEos = config.add_eos_token === true;
    const prefix = addBos && bos !== undefined ? [idOf(bos)] : [];
    const suffix = addEos && eos !== undefined ? [idOf(eos)] : [];
    if ([...prefix, ...suffix].some((id) => id === undefined)) return undefined;
    return { prefix: prefix as number[], suffix: suffix as number[] };
  }
  return wrapOf(json.post_processor, idOf);
}

function wrapOf(spec: unknown, idOf: (t: string) => number | undefined): Wrapping | undefined {
  if (spec === null || spec === undefined) return { prefix: [], suffix: [] };
  if (!isObj(spec)) return undefined;
  switch (spec.type) {
    case 'ByteLevel':
      return { prefix: [], suffix: [] };
    case 'Sequence': {
      const out: Wrapping = { prefix: [], suffix: [] };
      for (const p of Array.isArray(spec.processors) ? spec.processors : []) {
        const w = wrapOf(p, idOf);
        if (!w) return undefined;
        out.prefix = [...w.prefix, ...out.prefix];
        out.suffix = [...out.suffix, ...w.suffix];
      }
      return out;
    }
    case 'TemplateProcessing': {
      const single = Array.isArray(spec.single) ? spec.single : [];
      const table = isObj(spec.special_tokens) ? spec.special_tokens : {};
      const prefix: number[] = [];
      const suffix: number[] = [];
      let seen = 0;
      for (const piece of single) {
        if (!isObj(piece)) return undefined;
        if (isObj(piece.Sequence)) {
          seen++;
          continue;
        }
        const id = isObj(piece.SpecialToken) ? piece.SpecialToken.id : undefined;
        const entry = typeof id === 'string' ? table[id] : undefined;
        if (!isObj(entry) || !Array.isArray(entry.ids)) return undefined;
        (seen === 0 ? prefix : suffix).push(...(entry.ids as number[]));
      }
      return seen === 1 ? { prefix, suffix } : undefined;
    }
    case 'RobertaProcessing':
    case 'BertProcessing': {
      const cls = Array.isArray(spec.cls) ? spec.cls[1] : undefined;
      const sep = Array.isArray(spec.sep) ? spec.sep[1] : undefined;
      if (typeof cls !== 'number' || typeof sep !== 'number') return undefined;
      return { prefix: [cls], suffix: [sep] };
    }
    default:
      return undefined;
  }
}

/** tokenizer_config.json holds special tokens as strings or as serialized AddedToken objects. */
export function tokenContent(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (isObj(v) && typeof v.content === 'string') return v.content;
  return undefined;
}

const isObj = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);
