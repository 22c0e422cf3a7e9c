import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from '@nats-io/transport-node';
import { describe, expect, it } from 'vitest';
import { describeBusConformance, startNatsServer } from '../testing/index.js';
import { subjectMatches } from './bus.js';
import { createMemoryBus } from './memory-bus.js';
import { natsBus } from './nats-bus.js';

describe('subjectMatches', () => {
  it('follows NATS wildcard rules', () => {
    expect(subjectMatches('a.*.c', 'a.b.c')).toBe(true);
    expect(subjectMatches('a.*', 'a.b.c')).toBe(false);
    expect(subjectMatches('a.>', 'a.b.c')).toBe(true);
    expect(subjectMatches('a.>', 'a')).toBe(false);
    expect(subjectMatches('a.b', 'a.b')).toBe(true);
    expect(subjectMatches('a.b', 'a.b.c')).toBe(false);
  });
});

describeBusConformance('memory', async () => {
  const bus = createMemoryBus({ onHandlerError: () => undefined });
  return { a: bus, b: bus, done: () => bus.close() };
});

describeBusConformance('nats', async () => {
  const server = await startNatsServer();
  const [ca, cb] = await Promise.all([
    connect({ servers: server.url }),
    connect({ servers: server.url }),
  ]);
  return {
    a: natsBus(ca),
    b: natsBus(cb, { onHandlerError: () => undefined }),
    done: async () => {
      await ca.close();
      await cb.close();
      await server.dispose();
    },
  };
});

const until = async (cond: () => boolean, ms = 5000) => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
};

describe('connection status', () => {
  it('nats: reports disconnect and reconnect, the server max_payload, and closes during an outage', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kvroute-bus-'));
    const conf = join(dir, 'nats.conf');
    writeFileSync(conf, 'max_payload: 65536\n');
    const server = await startNatsServer(['-c', conf]);
    const nc = await connect({ servers: server.url, reconnectTimeWait: 100 });
    const bus = natsBus(nc);
    try {
      const seen: boolean[] = [];
      const off = bus.onConnectionChange((c) => seen.push(c));
      expect(bus.isConnected()).toBe(true);
      expect(bus.maxPayloadBytes()).toBe(65536);
      await server.stop();
      await until(() => seen.length === 1);
      expect(bus.isConnected()).toBe(false);
      await server.restart();
      await until(() => seen.length === 2, 10_000);
      expect(seen).toEqual([false, true]);
      expect(bus.isConnected()).toBe(true);
      off();
      await server.stop();
      await until(() => !bus.isConnected());
      // Draining needs the server; while it is gone close must still end and stop reconnecting.
      await expect(bus.close()).resolves.toBeUndefined();
      expect(nc.isClosed()).toBe(true);
      expect(seen).toEqual([false, true]);
    } finally {
      if (!nc.isClosed()) await nc.close();
      await server.dispose();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('memory: connected until closed, then says so once; no payload limit', async () => {
    const bus = createMemoryBus();
    const seen: boolean[] = [];
    bus.onConnectionChange((c) => seen.push(c));
    expect(bus.isConnected()).toBe(true);
    expect(bus.maxPayloadBytes()).toBe(Number.POSITIVE_INFINITY);
    await bus.close();
    await bus.close();
    expect(seen).toEqual([false]);
    expect(bus.isConnected()).toBe(false);
  });
});
