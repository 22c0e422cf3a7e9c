import { describe, expect, it } from 'vitest';
import { PodHealth } from './pod-health.js';

describe('PodHealth (per-pod circuit breaker)', () => {
  it('ejects after a connect failure, longer each time up to the cap, and forgets on success', () => {
    let t = 0;
    const h = new PodHealth({ baseMs: 100, maxMs: 350, now: () => t });
    expect(h.admits('a')).toBe(true);
    expect(h.failed('a')).toBe(100);
    expect(h.admits('a')).toBe(false);
    expect(h.admits('b')).toBe(true);
    t = 100;
    expect(h.admits('a')).toBe(true); // half-open
    expect(h.failed('a')).toBe(200);
    t = 299;
    expect(h.admits('a')).toBe(false);
    t = 300;
    expect(h.failed('a')).toBe(350); // 400, capped
    expect([...h.ejected()]).toEqual([['a', 350]]);
    t = 650;
    h.reached('a');
    expect(h.admits('a')).toBe(true);
    expect(h.failed('a')).toBe(100); // the count restarted
  });

  it('lets one probe at a time through once the ejection is over', () => {
    let t = 0;
    const h = new PodHealth({ baseMs: 100, maxMs: 1000, now: () => t });
    h.failed('a');
    h.attempt('a', 50); // still ejected: not a probe
    t = 100;
    expect(h.admits('a')).toBe(true);
    h.attempt('a', 50);
    expect(h.admits('a')).toBe(false); // the probe is under way
    t = 150;
    expect(h.admits('a')).toBe(true); // it never reported: another may probe
  });

  it('does nothing when disabled', () => {
    const h = new PodHealth({ baseMs: 0, maxMs: 1000, now: () => 0 });
    expect(h.failed('a')).toBe(0);
    expect(h.admits('a')).toBe(true);
  });
});
