/**
 * Approximate mode, for models without a tokenizer: pseudo-token ids from fixed-size character
 * chunks, so the block-key machinery can run on text (like the Gateway API Inference Extension's
 * approximate prefix scorer). Chunk k covers UTF-16 units [4k, 4k+4) and maps to a 32-bit hash
 * of exactly those units, so two texts that share their first 4k units share their first k ids.
 * A final partial chunk gets an id too (it differs from the full chunk a longer text would have).
 * Ids are only comparable with other approximate ids: they never equal an engine's token ids.
 */

/** UTF-16 code units per pseudo-token; about one token of English text. */
export const APPROX_CHARS_PER_TOKEN = 4;

/** Pseudo-token ids of `text`: ceil(length / 4) ids. O(length), no allocation beyond the result. */
export function approximateTokens(text: string): Uint32Array {
  const n = text.length;
  const out = new Uint32Array(Math.ceil(n / APPROX_CHARS_PER_TOKEN));
  for (let k = 0, i = 0; i < n; k++, i += APPROX_CHARS_PER_TOKEN) {
    // Two 32-bit words hold the four 16-bit units exactly; the length disambiguates a short tail.
    const w0 = (text.charCodeAt(i) | ((i + 1 < n ? text.charCodeAt(i + 1) : 0) << 16)) >>> 0;
    const w1 =
      ((i + 2 < n ? text.charCodeAt(i + 2) : 0) |
        ((i + 3 < n ? text.charCodeAt(i + 3) : 0) << 16)) >>>
      0;
    out[k] = mix(w0, w1, Math.min(APPROX_CHARS_PER_TOKEN, n - i));
  }
  return out;
}

/**
 * The canonical text of chat messages for approximate mode: each message as
 * `<role>\n<text>\n\n` with a separator that user text is unlikely to contain, text parts joined
 * with "\n". Messages that do not parse contribute their JSON (nesting past 64 levels written as
 * "…"), so the function never throws.
 */
export function canonicalChatText(messages: unknown): string {
  if (!Array.isArray(messages)) return json(messages);
  let out = '';
  for (const m of messages as unknown[]) {
    const msg = (typeof m === 'object' && m !== null ? m : {}) as Record<string, unknown>;
    const role = typeof msg.role === 'string' ? msg.role : '?';
    out += `\u241e${role}\n${contentText(msg.content)}\n\n`;
  }
  return out;
}

function contentText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (content === undefined || content === null) return '';
  if (!Array.isArray(content)) return json(content);
  return content
    .map((p: unknown) =>
      typeof p === 'string'
        ? p
        : typeof p === 'object' && p !== null && typeof (p as { text?: unknown }).text === 'string'
          ? (p as { text: string }).text
          : json(p),
    )
    .join('\n');
}

/** Nesting deeper than this is written as "…": JSON.stringify recurses and would overflow. */
const MAX_JSON_DEPTH = 64;

/** JSON.stringify up to MAX_JSON_DEPTH levels (identical output within it); never throws. */
function json(value: unknown): string {
  const depth = new WeakMap<object, number>();
  try {
    const text = JSON.stringify(value, function (this: unknown, _key, v: unknown) {
      if (typeof v !== 'object' || v === null) return v;
      const parent = typeof this === 'object' && this !== null ? (depth.get(this) ?? 0) : 0;
      if (parent >= MAX_JSON_DEPTH) return '…';
      depth.set(v, parent + 1);
      return v;
    }) as string | undefined;
    return text ?? '';
  } catch {
    // Cycles or BigInt: not from JSON.parse, but the input type is unknown.
    return '<unserializable>';
  }
}

/** murmur3-style finalization of 64 bits of chunk plus its length into 32 bits. */
function mix(w0: number, w1: number, len: number): number {
  let h = Math.imul(w0 ^ 0x9e3779b9, 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 15) ^ w1, 0xc2b2ae35);
  h ^= len;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}
