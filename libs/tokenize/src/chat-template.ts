import { Template } from '@huggingface/jinja';
import { TokenizerError, TokenizerLoadError } from './errors.js';
import type { ContentFormat } from './messages.js';

/**
 * A compiled chat template. Rendering follows transformers' `apply_chat_template` as vLLM calls it:
 * trim_blocks and lstrip_blocks on, `raise_exception` and `strftime_now` defined, the tokenizer's
 * special tokens (bos_token, eos_token, …) as variables, `tools` and `documents` null when absent.
 */
export class ChatTemplate {
  private readonly template: Template;
  readonly contentFormat: ContentFormat;

  constructor(
    readonly source: string,
    private readonly specialTokens: Readonly<Record<string, unknown>>,
  ) {
    try {
      this.template = new Template(source);
    } catch (e) {
      throw new TokenizerLoadError(`chat template does not parse: ${message(e)}`, { cause: e });
    }
    this.contentFormat = detectContentFormat(source);
  }

  /** @throws TokenizerError when the template raises or fails on these variables. */
  render(vars: Record<string, unknown>): string {
    let out: unknown;
    try {
      out = this.template.render({
        ...this.specialTokens,
        tools: null,
        documents: null,
        ...vars,
      });
    } catch (e) {
      throw new TokenizerError(`chat template failed: ${message(e)}`, { cause: e });
    }
    if (typeof out !== 'string') throw new TokenizerError('chat template did not render text');
    return out;
  }
}

/**
 * vLLM's "auto" content format, approximated on the template source: "openai" when the template
 * loops over a message's content (directly or through a variable set from it), else "string".
 */
export function detectContentFormat(source: string): ContentFormat {
  const content = String.raw`[\w.]*(?:\[\s*['"]content['"]\s*\]|\.content)`;
  if (new RegExp(String.raw`\{%-?\s*for\s+\w+\s+in\s+${content}\s*(?:-?%\}|\|)`).test(source))
    return 'openai';
  const alias = new RegExp(String.raw`\{%-?\s*set\s+(\w+)\s*=\s*${content}\s*-?%\}`, 'g');
  for (const m of source.matchAll(alias)) {
    if (new RegExp(String.raw`\{%-?\s*for\s+\w+\s+in\s+${m[1]}\s*(?:-?%\}|\|)`).test(source))
      return 'openai';
  }
  return 'string';
}

const message = (e: unknown): string => (e instanceof Error ? e.message : String(e));
