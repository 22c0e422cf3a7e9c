import { LRUCache } from 'lru-cache';
import { ChatTemplate } from './chat-template.js';
import { TokenizerError, TokenizerLoadError } from './errors.js';
import { toConversation } from './messages.js';
import { toToolDicts } from './tools.js';
import { tokenContent } from './special-tokens.js';
import type { ModelFiles } from './tokenizer-json.js';
import type { ChatMessage, ChatOptions } from './types.js';

const SPECIAL_KEYS = [
  'bos_token',
  'eos_token',
  'unk_token',
  'sep_token',
  'pad_token',
  'cls_token',
  'mask_token',
];

/** Per-request templates kept compiled: a client usually resends the same one or two. */
const OVERRIDE_TEMPLATES = 16;
/** Their total source length, in UTF-16 units; the compiled AST is a small multiple of it. */
const OVERRIDE_SOURCE_CHARS = 1 << 20;

export type ChatRenderer = (messages: readonly ChatMessage[], options?: ChatOptions) => string;

/**
 * Renders chat requests as vLLM does through transformers' `apply_chat_template`: the model's
 * template (its named "tool_use" template when tools are given) or the request's own, the
 * special tokens of tokenizer_config.json, then `chat_template_kwargs` on top.
 */
export function createChatRenderer(files: ModelFiles): ChatRenderer {
  const specials: Record<string, unknown> = {};
  const config = files.config;
  for (const k of SPECIAL_KEYS) {
    const v = tokenContent(config[k]);
    if (v !== undefined) specials[k] = v;
  }
  if (Array.isArray(config.additional_special_tokens))
    specials.additional_special_tokens = config.additional_special_tokens.map(tokenContent);
  const source = files.chatTemplate;
  const named = new Map<string, ChatTemplate>();
  if (typeof source === 'string') named.set('default', new ChatTemplate(source, specials));
  else if (Array.isArray(source))
    for (const t of source) named.set(t.name, new ChatTemplate(t.template, specials));
  const overrides = new LRUCache<string, ChatTemplate>({
    max: OVERRIDE_TEMPLATES,
    maxSize: OVERRIDE_SOURCE_CHARS,
    sizeCalculation: (_t, key) => Math.max(1, key.length),
  });

  const templateFor = (o: ChatOptions): ChatTemplate => {
    const text = o.chatTemplate;
    if (text !== undefined && text !== null) {
      if (typeof text !== 'string') throw new TokenizerError('chat_template must be a string');
      // transformers reads a request template that names one of the model's as that name.
      const byName = Array.isArray(source) ? named.get(text) : undefined;
      if (byName) return byName;
      let t = overrides.get(text);
      if (!t) {
        try {
          t = new ChatTemplate(text, specials);
        } catch (e) {
          if (!(e instanceof TokenizerLoadError)) throw e;
          throw new TokenizerError(`chat_template: ${e.message}`, { cause: e });
        }
        overrides.set(text, t);
      }
      return t;
    }
    const t = (o.tools ? named.get('tool_use') : undefined) ?? named.get('default');
    if (!t) throw new TokenizerError('this model has no chat template; use a completions prompt');
    return t;
  };

  return (messages, o = {}) => {
    const addGenerationPrompt = o.addGenerationPrompt ?? true;
    const continueFinal = o.continueFinalMessage === true;
    if (continueFinal && addGenerationPrompt)
      throw new TokenizerError(
        'continue_final_message and add_generation_prompt cannot both be true (add_generation_prompt defaults to true)',
      );
    const documents = o.documents ?? null;
    if (documents !== null && !Array.isArray(documents))
      throw new TokenizerError('documents must be an array or null');
    const tools = toToolDicts(o.tools);
    const t = templateFor(o);
    const conversation = toConversation(messages, t.contentFormat);
    const text = t.render({
      messages: conversation,
      add_generation_prompt: addGenerationPrompt,
      ...(tools !== undefined ? { tools } : {}),
      documents,
      ...o.chatTemplateKwargs,
    });
    return continueFinal ? openFinalMessage(text, conversation.at(-1)?.content) : text;
  };
}

/**
 * transformers' `continue_final_message`: cut the rendered text right after the last occurrence
 * of the final message's text (its last text part), keeping trailing whitespace only when the
 * template kept it. Python's `str.strip` whitespace set, not JavaScript's `trim`.
 */
function openFinalMessage(rendered: string, content: unknown): string {
  let final: unknown = content;
  if (Array.isArray(content)) {
    const part = content.findLast(
      (p: unknown) => typeof p === 'object' && p !== null && 'text' in p,
    ) as { text: unknown } | undefined;
    if (!part)
      throw new TokenizerError(
        'continue_final_message is set but the final message has no text to continue',
      );
    final = part.text;
  }
  const body = typeof final === 'string' ? final : '';
  const stripped = pyStrip(body);
  const at = rendered.lastIndexOf(stripped);
  if (at < 0)
    throw new TokenizerError(
      'continue_final_message is set but the chat template does not render the final message as given',
    );
  const leftTrimmed = body.length - pyLstrip(body).length;
  const keep = body.length - leftTrimmed;
  if (rendered.slice(at, at + keep) === body) return rendered.slice(0, at + keep);
  return rendered.slice(0, at + stripped.length);
}

// Python's str.isspace() set: JavaScript's \s plus \x1c-\x1f and \x85, minus \ufeff. Loops, not
// a /\s+$/ regex, which backtracks quadratically over long inner runs of spaces.
const PY_SPACE = new Set([
  0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x1c, 0x1d, 0x1e, 0x1f, 0x20, 0x85, 0xa0, 0x1680, 0x2000, 0x2001,
  0x2002, 0x2003, 0x2004, 0x2005, 0x2006, 0x2007, 0x2008, 0x2009, 0x200a, 0x2028, 0x2029, 0x202f,
  0x205f, 0x3000,
]);
const isPySpace = (s: string, i: number): boolean => PY_SPACE.has(s.charCodeAt(i));
function pyLstrip(s: string): string {
  let i = 0;
  while (i < s.length && isPySpace(s, i)) i++;
  return s.slice(i);
}
function pyStrip(s: string): string {
  const left = pyLstrip(s);
  let end = left.length;
  while (end > 0 && isPySpace(left, end - 1)) end--;
  return left.slice(0, end);
}
