import { BpeMerges, MAX_WORD_SYMBOLS, PAIR_SHIFT } from './bpe.js';
import { TokenizerError } from './errors.js';
import { detach } from './detach.js';
import { translateSplitPattern } from './split-regex.js';
import type { PieceEncoder } from './piece-encoder.js';
import type { TokenizerJson } from './tokenizer-json.js';

/**
 * A fast encoder for the byte-level BPE family (GPT-2, Llama 3, Qwen 2/3, DeepSeek, …), compiled
 * from tokenizer.json: optional NFC normalizer, `Split` regex pre-tokenizers (Isolated) and/or the
 * ByteLevel pre-tokenizer, a BPE model over the 256 byte symbols. It reproduces the Rust library's
 * pipeline step by step; tests compare it with that library on both shipped tokenizers.
 * `compileByteLevelBpe` returns a reason string for any configuration outside that family.
 */

// The Rust ByteLevel pre-tokenizer's own pattern (GPT-2), used when `use_regex` is true.
const GPT2_PATTERN =
  "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";
const WORD_CACHE_ENTRIES = 100_000;
const WORD_CACHE_MAX_CHARS = 256;

export function compileByteLevelBpe(json: TokenizerJson): PieceEncoder | string {
  const model = json.model;
  if (!model || model.type !== 'BPE') return `model ${model?.type ?? 'missing'} is not BPE`;
  if (model.dropout) return 'BPE dropout is set';
  if (model.continuing_subword_prefix || model.end_of_word_suffix)
    return 'BPE subword prefix/suffix is set';
  const nfc = normalizerIsNfc(json.normalizer);
  if (nfc === undefined) return 'normalizer is neither absent nor NFC';
  if ((json.added_tokens ?? []).some((t) => t.normalized && nfc))
    return 'added tokens matched after normalization';
  const pre = compilePreTokenizer(json.pre_tokenizer);
  if (typeof pre === 'string') return pre;

  // The model's own vocabulary: added tokens never reach the BPE model.
  const vocab = new Map<string, number>();
  const source = model.vocab ?? {};
  let maxId = 0;
  for (const k of Object.keys(source)) {
    const id = source[k]!;
    vocab.set(k, id);
    if (id > maxId) maxId = id;
  }
  for (const t of json.added_tokens ?? []) maxId = Math.max(maxId, t.id);
  if (maxId >= PAIR_SHIFT) return 'vocabulary too large for packed pair keys';

  const byteToId = new Uint32Array(256);
  const byteChars: string[] = [];
  for (let b = 0; b < 256; b++) {
    const ch = String.fromCharCode(BYTE_TO_UNICODE[b]!);
    byteChars.push(ch);
    const id = vocab.get(ch);
    if (id === undefined)
      return `byte symbol U+${BYTE_TO_UNICODE[b]!.toString(16)} not in vocabulary`;
    byteToId[b] = id;
  }

  const list = model.merges ?? [];
  const left = new Uint32Array(list.length);
  const right = new Uint32Array(list.length);
  const merged = new Uint32Array(list.length);
  for (let i = 0; i < list.length; i++) {
    const m = list[i]!;
    let a: string | undefined;
    let b: string | undefined;
    if (typeof m === 'string') {
      const space = m.indexOf(' ', 1);
      a = m.slice(0, space);
      b = m.slice(space + 1);
    } else {
      a = m[0];
      b = m[1];
    }
    const ia = vocab.get(a ?? '');
    const ib = vocab.get(b ?? '');
    const im = vocab.get((a ?? '') + (b ?? ''));
    if (ia === undefined || ib === undefined || im === undefined)
      return `merge ${JSON.stringify(m)} refers to tokens outside the vocabulary`;
    left[i] = ia;
    right[i] = ib;
    merged[i] = im;
  }
  const merges = new BpeMerges(left, right, merged);
  return new ByteLevelBpe(
    pre,
    nfc,
    model.ignore_merges === true,
    vocab,
    byteToId,
    byteChars,
    merges,
  );
}

interface PreTokenizer {
  splits: RegExp[];
  addPrefixSpace: boolean;
}

class ByteLevelBpe implements PieceEncoder {
  readonly kind = 'byte-level-bpe' as const;
  private readonly words = new Map<string, Uint32Array>();
  private bytes = new Uint8Array(1024);
  private symbols = new Uint32Array(1024);
  private readonly utf8 = new TextEncoder();

  constructor(
    private readonly pre: PreTokenizer,
    private readonly nfc: boolean,
    private readonly ignoreMerges: boolean,
    private readonly vocab: Map<string, number>,
    private readonly byteToId: Uint32Array,
    private readonly byteChars: string[],
    private readonly merges: BpeMerges,
  ) {}

  encodePiece(piece: string): Uint32Array {
    let text = this.nfc ? piece.normalize('NFC') : piece;
    if (this.pre.addPrefixSpace && !text.startsWith(' ')) text = ' ' + text;
    const out: number[] = [];
    this.splitAt(0, text, out);
    return Uint32Array.from(out);
  }

  /** Applies split regex `level` (and the ones after it) to `text`, isolating matches and gaps. */
  private splitAt(level: number, text: string, out: number[]): void {
    const re = this.pre.splits[level];
    if (!re) {
      this.word(text, out);
      return;
    }
    re.lastIndex = 0;
    let last = 0;
    for (let m = re.exec(text); m !== null; m = re.exec(text)) {
      const s = m.index;
      const e = s + m[0].length;
      if (e === s) {
        re.lastIndex++; // an empty match splits nothing, as in the Rust library
        continue;
      }
      if (s > last) this.splitAt(level + 1, text.slice(last, s), out);
      this.splitAt(level + 1, m[0], out);
      last = e;
    }
    if (last < text.length) this.splitAt(level + 1, last === 0 ? text : text.slice(last), out);
  }

  private word(w: string, out: number[]): void {
    const cached = this.words.get(w);
    if (cached) {
      for (let i = 0; i < cached.length; i++) out.push(cached[i]!);
      return;
    }
    const ids = this.encodeWord(w);
    if (w.length <= WORD_CACHE_MAX_CHARS) {
      if (this.words.size >= WORD_CACHE_ENTRIES) this.words.clear();
      this.words.set(detach(w), ids);
    }
    for (let i = 0; i < ids.length; i++) out.push(ids[i]!);
  }

  private encodeWord(w: string): Uint32Array {
    if (this.bytes.length < w.length * 3) {
      this.bytes = new Uint8Array(w.length * 3);
      this.symbols = new Uint32Array(w.length * 3);
    }
    const n = this.utf8.encodeInto(w, this.bytes).written;
    if (n > MAX_WORD_SYMBOLS)
      throw new TokenizerError(
        `a single pre-token of ${n} bytes is longer than this encoder supports`,
      );
    if (this.ignoreMerges) {
      let mapped = '';
      for (let i = 0; i < n; i++) mapped += this.byteChars[this.bytes[i]!]!;
      const id = this.vocab.get(mapped);
      if (id !== undefined) return Uint32Array.of(id);
    }
    const symbols = this.symbols;
    for (let i = 0; i < n; i++) symbols[i] = this.byteToId[this.bytes[i]!]!;
    const len = this.merges.mergeAll(symbols, n);
    return symbols.slice(0, len);
  }
}

function compilePreTokenizer(spec: unknown): PreTokenizer | string {
  const steps = isObj(spec) && spec.type === 'Sequence' ? asArray(spec.pretokenizers) : [spec];
  const splits: RegExp[] = [];
  for (let i = 0; i < steps.length; i++) {
    const step = steps[i];
    if (!isObj(step)) return 'pre-tokenizer missing';
    const last = i === steps.length - 1;
    if (step.type === 'Split') {
      if (last) return 'Split is not followed by ByteLevel';
      if (step.behavior !== 'Isolated' || step.invert === true)
        return `Split behavior ${String(step.behavior)} is not supported`;
      const p = step.pattern;
      const re = !isObj(p)
        ? undefined
        : typeof p.Regex === 'string'
          ? translateSplitPattern(p.Regex)
          : typeof p.String === 'string'
            ? new RegExp(p.String.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'), 'gu')
            : undefined;
      if (!re) return `Split pattern ${JSON.stringify(p)} is not translated`;
      splits.push(re);
    } else if (step.type === 'ByteLevel' && last) {
      const addPrefixSpace = step.add_prefix_space === true;
      if (step.use_regex !== false) splits.push(translateSplitPattern(GPT2_PATTERN)!);
      // Applied to every split piece by the Rust library, so only unambiguous when nothing splits first.
      if (addPrefixSpace && splits.length > (step.use_regex !== false ? 1 : 0))
        return 'ByteLevel add_prefix_space after Split';
      return { splits, addPrefixSpace };
    } else {
      return `pre-tokenizer ${String(step.type)} is not supported`;
    }
  }
  return 'no ByteLevel pre-tokenizer';
}

function normalizerIsNfc(spec: unknown): boolean | undefined {
  if (spec === null || spec === undefined) return false;
  if (!isObj(spec)) return undefined;
  if (spec.type === 'NFC') return true;
  if (spec.type === 'Sequence' && asArray(spec.normalizers).length === 0) return false;
  if (spec.type === 'Sequence' && asArray(spec.normalizers).length === 1)
    return normalizerIsNfc(asArray(spec.normalizers)[0]);
  return undefined;
}

const isObj = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);
const asArray = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);

/** GPT-2's reversible byte → printable code point map. */
const BYTE_TO_UNICODE: number[] = (() => {
  const map: number[] = new Array<number>(256);
  let extra = 0;
  for (let b = 0; b < 256; b++) {
    const printable =
      (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
    map[b] = printable ? b : 256 + extra++;
  }
  return map;
})();
