/** Common short English words; a token's word is picked by its id. */
const WORDS = (
  'the of and to in is that for it as with was on be by at this from or an are which one ' +
  'all were can but not had have more when there some her their will would what about into ' +
  'than them only time could new these two may first then also after way many must most over ' +
  'such where just made through long before'
).split(' ');

/**
 * Deterministic filler text for generated token ids: one word per token,
 * chosen by the id, separated by spaces. `position` is the index of `ids[0]`
 * in the whole output, so concatenated pieces equal the text of all ids.
 */
export function fillerText(ids: ArrayLike<number>, position: number): string {
  let s = '';
  for (let i = 0; i < ids.length; i++) {
    if (position + i > 0) s += ' ';
    s += WORDS[ids[i]! % WORDS.length]!;
  }
  return s;
}
