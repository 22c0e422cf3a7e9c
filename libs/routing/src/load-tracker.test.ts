import type { Heartbeat } from '@kvroute/protocol';
import { describe, expect, it } from 'vitest';
import { createLoadTracker } from './load-tracker.js';

function hb(pod: string, over: Partial<Heartbeat> = {}): Heartbeat {
  return {
    pod,
    model: 'm',
    role: 'both',
    epoch: 'e1',
    ts: 0,
    state: 'up',
    waiting: 1,
    running: 2,
    kvUsage: 0.5,
    blockSize: 16,
    capacityBlocks: 100,
    lastSeq: 0,
    intervalMs: 200,
    ...over,
  };
}

describe('LoadTracker', () => {
  it('lists live pods sorted by name and drops those that miss heartbeats', () => {
    let t = 0;
    const lt = createLoadTracker({ now: () => t, staleAfterMs: 1000 });
    lt.heartbeat(hb('b'));
    lt.heartbeat(hb('a', { waiting: 7 }));
    expect(lt.live('m').map((p) => p.pod)).toEqual(['a', 'b']);
    expect(lt.live('m')[0]).toMatchObject({
      waiting: 7,
      running: 2,
      kvUsage: 0.5,
      lastHeartbeatMs: 0,
    });
    t = 900;
    lt.heartbeat(hb('b'));
    t = 1500;
    expect(lt.live('m').map((p) => p.pod)).toEqual(['b']);
    expect(lt.models()).toEqual(['m']);
    t = 3000;
    expect(lt.live('m')).toEqual([]);
    expect(lt.models()).toEqual([]);
  });

  it('removes a leaving pod at once and keeps static pods without heartbeats', () => {
    let t = 0;
    const lt = createLoadTracker({ now: () => t });
    lt.addStatic('s', 'm');
    lt.heartbeat(hb('a'));
    lt.heartbeat(hb('a', { state: 'leaving' }));
    expect(lt.live('m').map((p) => p.pod)).toEqual(['s']);
    t = 1e9;
    expect(lt.live('m').map((p) => p.pod)).toEqual(['s']);
    expect(lt.live('other')).toEqual([]);
  });

  it('accounts in-flight requests until first token and finish', () => {
    const t = 0;
    const lt = createLoadTracker({ now: () => t });
    lt.addStatic('a', 'm');
    lt.requestStarted('a', 'r1', {
      promptTokens: 100,
      uncachedTokens: 60,
      expectedOutputTokens: 10,
    });
    lt.requestStarted('a', 'r2', { promptTokens: 50, uncachedTokens: 50 });
    expect(lt.live('m')[0]).toMatchObject({
      inFlight: 2,
      inFlightPrefilling: 2,
      inFlightPrefillTokens: 110,
      inFlightTokens: 160,
    });
    lt.firstToken('r1');
    lt.firstToken('r1'); // twice counts once
    expect(lt.live('m')[0]).toMatchObject({
      inFlight: 2,
      inFlightPrefilling: 1,
      inFlightPrefillTokens: 50,
    });
    lt.requestFinished('r2'); // finished without a first token (e.g. an error)
    lt.requestFinished('r2');
    expect(lt.live('m')[0]).toMatchObject({
      inFlight: 1,
      inFlightPrefilling: 0,
      inFlightPrefillTokens: 0,
      inFlightTokens: 110,
    });
    lt.requestFinished('r1');
    expect(lt.live('m')[0]).toMatchObject({ inFlight: 0, inFlightTokens: 0 });
  });

  it('forgets requests never reported finished after maxRequestAgeMs', () => {
    let t = 0;
    const lt = createLoadTracker({ now: () => t, maxRequestAgeMs: 1000 });
    lt.addStatic('a', 'm');
    lt.requestStarted('a', 'old', { promptTokens: 10, uncachedTokens: 10 });
    t = 600;
    lt.requestStarted('a', 'young', { promptTokens: 10, uncachedTokens: 10 });
    t = 1200;
    lt.requestFinished('unknown');
    expect(lt.live('m')[0]).toMatchObject({ inFlight: 1, inFlightPrefillTokens: 10 });
    t = 1700;
    lt.requestFinished('unknown');
    expect(lt.live('m')[0]).toMatchObject({ inFlight: 0, inFlightPrefillTokens: 0 });
  });

  it('forgets silent pods after 10× staleAfterMs once their requests are done', () => {
    let t = 0;
    const lt = createLoadTracker({ now: () => t, staleAfterMs: 100 });
    lt.addStatic('s', 'm');
    lt.heartbeat(hb('a'));
    lt.heartbeat(hb('b'));
    lt.requestStarted('b', 'r1', { promptTokens: 10, uncachedTokens: 10 });
    expect(lt.trackedPods()).toBe(3);
    t = 1000; // exactly 10× stale: still kept
    expect(lt.live('m').map((p) => p.pod)).toEqual(['s']);
    expect(lt.trackedPods()).toBe(3);
    t = 1001; // a is forgotten; b still has a request in flight
    expect(lt.live('m').map((p) => p.pod)).toEqual(['s']);
    expect(lt.trackedPods()).toBe(2);
    lt.requestFinished('r1');
    expect(lt.models()).toEqual(['m']);
    expect(lt.trackedPods()).toBe(1);
    // a forgotten pod that speaks again starts afresh
    lt.heartbeat(hb('a', { waiting: 4 }));
    expect(lt.live('m').map((p) => [p.pod, p.waiting, p.inFlight])).toEqual([
      ['a', 4, 0],
      ['s', 0, 0],
    ]);
    t = 1e9;
    expect(lt.live('m').map((p) => p.pod)).toEqual(['s']);
    expect(lt.trackedPods()).toBe(1);
  });

  it('forgets accounting of never-heard pods once their requests expire', () => {
    let t = 0;
    const lt = createLoadTracker({ now: () => t, maxRequestAgeMs: 1000 });
    lt.requestStarted('ghost', 'r1', { promptTokens: 10, uncachedTokens: 10 });
    expect(lt.trackedPods()).toBe(1);
    t = 2000;
    lt.requestFinished('unknown');
    expect(lt.trackedPods()).toBe(0);
  });

  it('keeps accounting for requests routed before the first heartbeat and after leaving', () => {
    const lt = createLoadTracker({ now: () => 0 });
    lt.requestStarted('a', 'r1', { promptTokens: 10, uncachedTokens: 10 });
    lt.heartbeat(hb('a'));
    expect(lt.live('m')[0]).toMatchObject({ pod: 'a', inFlight: 1 });
    lt.heartbeat(hb('a', { state: 'leaving' }));
    lt.requestFinished('r1');
    lt.heartbeat(hb('a'));
    expect(lt.live('m')[0]).toMatchObject({ pod: 'a', inFlight: 0 });
  });
});
