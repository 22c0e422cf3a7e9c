import { AddedTokenSplitter } from './added-tokens.js';
import { compileByteLevelBpe } from './byte-level-bpe.js';
import { ChatTemplate } from './chat-template.js';
import { TokenizerError, TokenizerLoadError } from './errors.js';
import { toConversation } from './messages.js';
import { LibraryEncoder } from './piece-encoder.js';
import type { PieceEncoder } from './piece-encoder.js';
import { SegmentedEncoder } from './segmented-encoder.js';
import { promptWrapping, tokenContent } from './special-tokens.js';
import type { ModelFiles, TokenizerConfig, TokenizerJson } from './tokenizer-json.js';
import type { ChatMessage, ChatOptions, ModelTokenizer, TokenizerStats } from './types.js';

export interface CreateOptions {
  /** Served model name; defaults to the directory name when loaded from disk. */
  model?: string;
  /** Byte budget of the piece cache (keys, ids and bookkeeping). Default 64 MiB; 0 disables. */
  cacheBytes?: number;
  /** 'auto' (default) uses the built-in byte-level BPE when the tokenizer fits it. */
  engine?: 'auto' | 'library';
}

export const DEFAULT_CACHE_BYTES = 64 * 1024 * 1024;
const SPECIAL_KEYS = [
  'bos_token',
  'eos_token',
  'unk_token',
  'sep_token',
  'pad_token',
  'cls_token',
  'mask_token',
];

/** Builds a tokenizer from already-read model files. Pure and synchronous. */
export function createModelTokenizer(
  files: ModelFiles,
  options: CreateOptions = {},
): ModelTokenizer {
  const json = files.tokenizer;
  if (typeof json !== 'object' || json === null || typeof json.model !== 'object')
    throw new TokenizerLoadError('tokenizer.json has no model');
  const config = files.config;
  let library: LibraryEncoder | undefined;
  const lib = (): LibraryEncoder => (library ??= newLibrary(files));
  const fast = options.engine === 'library' ? 'library engine requested' : compiled(json);
  const pieces: PieceEncoder = typeof fast === 'string' ? lib() : fast;

  const added = json.added_tokens ?? [];
  const idOf = new Map<string, number>(added.map((t) => [t.content, t.id]));
  const vocab = json.model?.vocab ?? {};
  const tokenId = (t: string): number | undefined =>
    idOf.get(t) ?? (Object.hasOwn(vocab, t) ? vocab[t] : undefined);
  const wrapping = promptWrapping(json, config, tokenId);
  const pieceSafe = !hasFirstOnlyMetaspace(json.pre_tokenizer);
  const encoder = new SegmentedEncoder({
    // Tokens matched after normalization belong to the piece encoder's own pipeline.
    splitter: new AddedTokenSplitter(
      added.filter((t) => t.normalized !== true || !json.normalizer),
    ),
    pieces,
    pieceSafe,
    encodeWhole: (text) => lib().encodeText(text, false),
    cacheBytes: options.cacheBytes ?? DEFAULT_CACHE_BYTES,
  });
  const template = chatTemplate(files, config);

  const renderChat = (messages: readonly ChatMessage[], o: ChatOptions = {}): string => {
    const t = template(o.tools);
    const conversation = toConversation(messages, t.contentFormat);
    return t.render({
      messages: conversation,
      add_generation_prompt: o.addGenerationPrompt ?? true,
      ...(o.tools !== undefined ? { tools: o.tools } : {}),
      ...o.chatTemplateKwargs,
    });
  };

  return {
    model: options.model ?? '',
    encodePrompt(prompt) {
      if (typeof prompt === 'string') {
        if (wrapping) return encoder.encode(prompt, wrapping.prefix, wrapping.suffix);
        return lib().encodeText(prompt, true);
      }
      return idsFromArray(prompt);
    },
    encodeChat: (messages, o) => encoder.encode(renderChat(messages, o)),
    renderChat,
    stats(): TokenizerStats {
      return {
        engine: pieces.kind,
        segmentCache: pieceSafe,
        hits: encoder.hits,
        misses: encoder.misses,
        hitTokens: encoder.hitTokens,
        missTokens: encoder.missTokens,
        cachedBytes: encoder.cachedBytes,
      };
    },
  };
}

/**
 * Compiled encoders by model object: re-creating a tokenizer over the same parsed files (other
 * options, another post-processor) reuses the compiled BPE when every input to it is unchanged.
 */
const compiledByModel = new WeakMap<object, { key: unknown[]; encoder: PieceEncoder | string }>();

function compiled(json: TokenizerJson): PieceEncoder | string {
  const key = [json.normalizer, json.pre_tokenizer, json.added_tokens];
  const hit = compiledByModel.get(json.model!);
  if (hit && hit.key.every((v, i) => v === key[i])) return hit.encoder;
  const encoder = compileByteLevelBpe(json);
  compiledByModel.set(json.model!, { key, encoder });
  return encoder;
}

function newLibrary(files: ModelFiles): LibraryEncoder {
  try {
    return new LibraryEncoder(files.tokenizer, files.config);
  } catch (e) {
    throw new TokenizerLoadError(`tokenizer.json is not supported: ${(e as Error).message}`, {
      cause: e,
    });
  }
}

/** Resolves the template per request: a named "tool_use" template applies when tools are given. */
function chatTemplate(
  files: ModelFiles,
  config: TokenizerConfig,
): (tools: unknown) => ChatTemplate {
  const specials: Record<string, unknown> = {};
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
  return (tools) => {
    const t = (tools ? named.get('tool_use') : undefined) ?? named.get('default');
    if (!t) throw new TokenizerError('this model has no chat template; use a completions prompt');
    return t;
  };
}

function idsFromArray(prompt: readonly number[]): Uint32Array {
  if (!Array.isArray(prompt))
    throw new TokenizerError('prompt must be a string or an array of token ids');
  const out = new Uint32Array(prompt.length);
  for (let i = 0; i < prompt.length; i++) {
    const id: unknown = prompt[i];
    if (typeof id !== 'number' || !Number.isInteger(id) || id < 0 || id > 0xffffffff)
      throw new TokenizerError(`prompt[${i}] is not a token id (an integer in [0, 2^32))`);
    out[i] = id;
  }
  return out;
}

/** Metaspace with prepend_scheme "first" prefixes only the text's first piece: not piece-safe. */
function hasFirstOnlyMetaspace(spec: unknown): boolean {
  if (typeof spec !== 'object' || spec === null) return false;
  const s = spec as Record<string, unknown>;
  if (s.type === 'Metaspace' && s.prepend_scheme === 'first') return true;
  return Array.isArray(s.pretokenizers) && s.pretokenizers.some(hasFirstOnlyMetaspace);
}
