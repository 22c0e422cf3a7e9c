/**
 * Splits text at added tokens before any normalization or pre-tokenization, as the Rust tokenizers
 * library does (`AddedVocabulary`, leftmost-longest matching). The tokenizer never merges across
 * such a split: every piece between two added tokens is normalized, pre-tokenized and encoded on
 * its own. That is the property the segment cache relies on.
 */

export interface AddedTokenSpec {
  id: number;
  content: string;
  special?: boolean;
  normalized?: boolean;
  lstrip?: boolean;
  rstrip?: boolean;
  single_word?: boolean;
}

/** Receives the pieces of a split in order: text ranges of the input, and added-token ids. */
export interface SplitSink {
  text(start: number, end: number): void;
  token(id: number): void;
}

interface Candidate {
  content: string;
  id: number;
  lstrip: boolean;
  rstrip: boolean;
  singleWord: boolean;
}

// Rust's char::is_whitespace is Unicode White_Space; JS trim() differs at U+0085 and U+FEFF.
const WHITE = /[\t-\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]/u;
// Rust's `\w` (regex crate, Unicode): Alphabetic, marks, decimal digits, connector punctuation,
// Join_Control; tested on the code point next to the match (a surrogate pair is one).
const ENDS_WITH_WORD = /[\p{Alphabetic}\p{M}\p{Nd}\p{Pc}\p{Join_Control}]$/u;
const STARTS_WITH_WORD = /^[\p{Alphabetic}\p{M}\p{Nd}\p{Pc}\p{Join_Control}]/u;

export class AddedTokenSplitter {
  /** First UTF-16 unit → candidates, longest first. */
  private readonly byFirst = new Map<number, Candidate[]>();
  /** Finds the next position holding the first UTF-16 unit of some token, natively. */
  private readonly firstUnits: RegExp | undefined;
  readonly size: number;

  constructor(tokens: readonly AddedTokenSpec[]) {
    for (const t of tokens) {
      if (t.content.length === 0) continue;
      const first = t.content.charCodeAt(0);
      let list = this.byFirst.get(first);
      if (!list) this.byFirst.set(first, (list = []));
      list.push({
        content: t.content,
        id: t.id,
        lstrip: t.lstrip === true,
        rstrip: t.rstrip === true,
        singleWord: t.single_word === true,
      });
    }
    for (const list of this.byFirst.values())
      list.sort((a, b) => b.content.length - a.content.length);
    const units = [...this.byFirst.keys()].map((u) => `\\u${u.toString(16).padStart(4, '0')}`);
    this.firstUnits = units.length > 0 ? new RegExp(`[${units.join('')}]`, 'g') : undefined;
    this.size = tokens.length;
  }

  /** Calls `sink` for each piece of `text`, in order. O(length + candidates at each first-unit hit). */
  split(text: string, sink: SplitSink): void {
    const n = text.length;
    let pieceStart = 0;
    let i = 0;
    const finder = this.firstUnits;
    while (finder && i < n) {
      finder.lastIndex = i;
      const found = finder.exec(text);
      if (found === null) break;
      i = found.index;
      const match = this.longestAt(text, i);
      if (!match) {
        i++;
        continue;
      }
      let start = i;
      let stop = i + match.content.length;
      if (match.singleWord && !isWordBoundary(text, start, stop)) {
        i = stop; // the Rust matcher resumes after a rejected match, not inside it
        continue;
      }
      if (match.lstrip) while (start > pieceStart && WHITE.test(text[start - 1]!)) start--;
      if (match.rstrip) while (stop < n && WHITE.test(text[stop]!)) stop++;
      if (start > pieceStart) sink.text(pieceStart, start);
      sink.token(match.id);
      pieceStart = i = stop;
    }
    if (pieceStart < n) sink.text(pieceStart, n);
  }

  private longestAt(text: string, i: number): Candidate | undefined {
    const list = this.byFirst.get(text.charCodeAt(i));
    if (!list) return undefined;
    for (const c of list) if (text.startsWith(c.content, i)) return c;
    return undefined;
  }
}

/** Rust `single_word`: no word character right before or right after the match. */
function isWordBoundary(text: string, start: number, stop: number): boolean {
  if (start > 0 && ENDS_WITH_WORD.test(text.slice(Math.max(0, start - 2), start))) return false;
  return !(stop < text.length && STARTS_WITH_WORD.test(text.slice(stop, stop + 2)));
}
