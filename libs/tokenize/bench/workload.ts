import type { ChatMessage } from '../src/index.js';

/**
 * Deterministic synthetic text and chat traffic for the benchmark: English-like prose from a
 * fixed word list with numbers, identifiers and code mixed in, so the word-level BPE cache sees
 * both repeats and misses as it would on real traffic.
 */

const WORDS = (
  'the of and to in is that for it as with was on be by this are or from at an not have which ' +
  'cache block prefix router replica request token model engine latency throughput memory index ' +
  'shard event key value hash chain pod load queue score policy weight system user assistant ' +
  'please explain how why what when where should could would answer question example function ' +
  'return const let type interface error result number string array object promise async await ' +
  'performance measure benchmark median ratio percent second minute hour day week data set table'
).split(' ');

export function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s ^ (s >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) >>> 0;
    s ^= s >>> 12;
    return s / 2 ** 32;
  };
}

/** About `chars` characters of mixed prose, numbers, identifiers and code. */
export function text(random: () => number, chars: number): string {
  let out = '';
  while (out.length < chars) {
    const r = random();
    if (r < 0.02) out += '\n\n';
    else if (r < 0.04) out += '.';
    else if (r < 0.05) out += ', ';
    else if (r < 0.06) out += ` ${Math.floor(random() * 100000)}`;
    else if (r < 0.065) out += ` id_${Math.floor(random() * 1e9).toString(36)}`;
    else if (r < 0.07) out += '\n```ts\nconst x = await f(y);\n```\n';
    else
      out +=
        (out.length === 0 || out.endsWith('\n') ? '' : ' ') +
        WORDS[Math.floor(random() * WORDS.length)];
  }
  return out;
}

/**
 * One pass of multi-turn chat traffic: `conversations` chats that share one of two system
 * prompts (~`systemChars` each), each asked `turns` times; a request carries the whole history
 * and one new user message, and the (synthetic) answer joins the history for the next turn.
 * Requests interleave across conversations, as a router sees them.
 */
export function chatPass(
  seed: number,
  conversations: number,
  turns: number,
  systemChars: number,
): ChatMessage[][] {
  const shared = rng(1);
  const systems = [text(shared, systemChars), text(shared, systemChars)];
  const random = rng(seed);
  const histories: ChatMessage[][] = Array.from({ length: conversations }, (_, i) => [
    { role: 'system', content: systems[i % 2]! },
  ]);
  const requests: ChatMessage[][] = [];
  for (let t = 0; t < turns; t++) {
    for (const h of histories) {
      h.push({ role: 'user', content: text(random, 200 + random() * 600) });
      requests.push([...h]);
      h.push({ role: 'assistant', content: text(random, 400 + random() * 1200) });
    }
  }
  return requests;
}
