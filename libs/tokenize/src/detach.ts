/**
 * A copy of `s` that does not keep a larger string alive. V8 represents `slice`/regex-match
 * results of 13+ units as views into their parent, so a cached 20-char key cut from a 100 KB
 * rendered conversation would otherwise pin all 100 KB. Concatenating then slicing makes V8 flatten
 * into a fresh string of the key's own length. Call only when storing: it costs a copy.
 */
export function detach(s: string): string {
  return s.length < 13 ? s : (' ' + s).slice(1);
}
