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
