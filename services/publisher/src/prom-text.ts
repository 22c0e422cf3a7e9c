/**
 * A strict reader of the Prometheus text exposition format (0.0.4, and the
 * sample lines of OpenMetrics): `name{label="value",…} value [timestamp]`,
 * `#` lines are comments or metadata. Label values unescape `\\`, `\"`, `\n`.
 * Any other line is an error naming its line number: a page we cannot read is a
 * failed scrape, not a page of zeros.
 *
 * (npm's widely used parser has had no release since 2019, ships no types and
 * merges histogram series across label sets; three gauges do not justify it.)
 */
export interface PromSample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export class PromParseError extends Error {
  override name = 'PromParseError';
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*/;
const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*/;

function parseValue(text: string, line: number): number {
  switch (text) {
    case 'NaN':
      return NaN;
    case '+Inf':
    case 'Inf':
      return Infinity;
    case '-Inf':
      return -Infinity;
  }
  if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(text))
    throw new PromParseError(`line ${line}: bad sample value ${JSON.stringify(text)}`);
  return Number(text);
}

function parseLine(s: string, line: number): PromSample {
  const name = NAME.exec(s)?.[0];
  if (!name) throw new PromParseError(`line ${line}: expected a metric name`);
  let i = name.length;
  const labels: Record<string, string> = {};
  if (s[i] === '{') {
    i++;
    for (;;) {
      while (s[i] === ' ') i++;
      if (s[i] === '}') {
        i++;
        break;
      }
      const label = LABEL.exec(s.slice(i))?.[0];
      if (!label)
        throw new PromParseError(`line ${line}: expected a label name at column ${i + 1}`);
      i += label.length;
      if (s[i] !== '=' || s[i + 1] !== '"')
        throw new PromParseError(`line ${line}: expected ="…" after label ${label}`);
      i += 2;
      let value = '';
      for (;;) {
        const c = s[i++];
        if (c === undefined) throw new PromParseError(`line ${line}: unterminated label value`);
        if (c === '"') break;
        if (c === '\\') {
          const e = s[i++];
          if (e === 'n') value += '\n';
          else if (e === '\\' || e === '"') value += e;
          else throw new PromParseError(`line ${line}: bad escape \\${e ?? ''} in label value`);
        } else {
          value += c;
        }
      }
      labels[label] = value;
      while (s[i] === ' ') i++;
      if (s[i] === ',') i++;
      else if (s[i] !== '}') throw new PromParseError(`line ${line}: expected , or } after label`);
    }
  }
  const rest = s
    .slice(i)
    .trim()
    .split(/[ \t]+/);
  if (s[i] !== ' ' && s[i] !== '\t')
    throw new PromParseError(`line ${line}: expected a space before the value`);
  if (rest.length > 2 || rest[0] === '')
    throw new PromParseError(`line ${line}: expected a value and an optional timestamp`);
  if (rest.length === 2 && !/^-?\d+(\.\d+)?$/.test(rest[1]!))
    throw new PromParseError(`line ${line}: bad timestamp ${JSON.stringify(rest[1])}`);
  return { name, labels, value: parseValue(rest[0]!, line) };
}

/**
 * Every sample of a page, in order. `only` restricts the result to some
 * metric names (every line is still checked).
 */
export function parsePromText(text: string, only?: ReadonlySet<string>): PromSample[] {
  const out: PromSample[] = [];
  const lines = text.split('\n');
  for (let n = 0; n < lines.length; n++) {
    const s = lines[n]!.replace(/\r$/, '');
    if (s.trim() === '' || s.trimStart().startsWith('#')) continue;
    const sample = parseLine(s.trimStart(), n + 1);
    if (!only || only.has(sample.name)) out.push(sample);
  }
  return out;
}
