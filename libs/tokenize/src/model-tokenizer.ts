import { AddedTokenSplitter } from './added-tokens.js';
import { compileByteLevelBpe } from './byte-level-bpe.js';
import { createChatRenderer } from './chat-render.js';
import { TokenizerError, TokenizerLoadError } from './errors.js';
import { LibraryEncoder } from './piece-encoder.js';
import type { PieceEncoder } from './piece-encoder.js';
import { SegmentedEncoder } from './segmented-encoder.js';
import { promptWrapping } from './special-tokens.js';
import type { ModelFiles, TokenizerJson } from './tokenizer-json.js';
import type { ChatOptions, ModelTokenizer, PromptOptions, TokenizerStats } from './types.js';

export interface CreateOptions {
  /** Served model name; defaults to the directory name when loaded from disk. */
  model?: string;
  /** Byte budget of the piece cache (keys, ids and bookkeeping). Default 64 MiB; 0 disables. */
  cacheBytes?: number;
  /** 'auto' (default) uses the built-in byte-level BPE when the tokenizer fits it. */
  engine?: 'auto' | 'library';
}

export const DEFAULT_CACHE_BYTES = 64 * 1024 * 1024;

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
  const renderChat = createChatRenderer(files);
  const encodeText = (text: string, addSpecialTokens: boolean): Uint32Array => {
    if (!addSpecialTokens) return encoder.encode(text);
    if (wrapping) return encoder.encode(text, wrapping.prefix, wrapping.suffix);
    return lib().encodeText(text, true);
  };

  return {
    model: options.model ?? '',
    encodePrompt(prompt, o: PromptOptions = {}) {
      if (typeof prompt === 'string') return encodeText(prompt, o.addSpecialTokens ?? true);
      return idsFromArray(prompt);
    },
    encodeChat: (messages, o: ChatOptions = {}) =>
      encodeText(renderChat(messages, o), o.addSpecialTokens ?? false),
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
