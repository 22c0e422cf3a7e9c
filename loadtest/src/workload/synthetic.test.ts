import { describe, expect, it } from 'vitest';
import { MULTI_TURN } from './presets.js';
import { multiTurn } from './synthetic.js';
import type { TraceRequest } from './types.js';

describe('multiTurn', () => {
  it('orders each session’s turns, a think time apart, within the list', () => {
    const o = { ...MULTI_TURN, sessions: 300 };
    const w = multiTurn(o);
    const sessions = new Map<number, TraceRequest[]>();
    let last = -Infinity;
    for (const r of w.requests) {
      expect(r.arrivalMs).toBeGreaterThanOrEqual(last);
      last = r.arrivalMs;
      const turns = sessions.get(r.session!.id) ?? [];
      turns.push(r);
      sessions.set(r.session!.id, turns);
    }
    expect(sessions.size).toBe(o.sessions);
    const think = 10_000;
    for (const turns of sessions.values()) {
      expect(turns.map((t) => t.session!.turn)).toEqual([
        ...Array(MULTI_TURN.turnsPerSession).keys(),
      ]);
      expect(turns[0]!.session!.thinkMs).toBe(0);
      for (let k = 1; k < turns.length; k++) {
        const t = turns[k]!;
        expect(t.session!.thinkMs).toBeGreaterThanOrEqual(0.5 * think);
        expect(t.session!.thinkMs).toBeLessThan(1.5 * think);
        expect(t.arrivalMs - turns[k - 1]!.arrivalMs).toBeCloseTo(t.session!.thinkMs, 6);
        // the history holds the previous answer, so the prompt grows by answer + user message
        expect(t.inputTokens - turns[k - 1]!.inputTokens).toBe(
          MULTI_TURN.outputTokens + MULTI_TURN.userTokens,
        );
      }
    }
  });
});
