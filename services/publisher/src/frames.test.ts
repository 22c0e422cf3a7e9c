import { describe, expect, it } from 'vitest';
import { FrameParseError, parseEngineFrames, seqBytes } from './frames.js';

const b = (s: string) => new TextEncoder().encode(s);
const seq = (n: bigint) => {
  const x = new Uint8Array(8);
  new DataView(x.buffer).setBigInt64(0, n);
  return x;
};
const reason = (frames: Uint8Array[]) => {
  try {
    parseEngineFrames(frames);
    return 'ok';
  } catch (e) {
    expect(e).toBeInstanceOf(FrameParseError);
    return (e as FrameParseError).reason;
  }
};

describe('engine frames', () => {
  it('reads [topic, seq, payload], [seq, payload] and replay replies with an empty delimiter', () => {
    const p = b('payload');
    expect(parseEngineFrames([b('kv'), seq(7n), p])).toEqual({ seq: 7, payload: p });
    expect(parseEngineFrames([seq(2n ** 40n), p])).toEqual({ seq: 2 ** 40, payload: p });
    expect(parseEngineFrames([new Uint8Array(0), seq(3n), p]).seq).toBe(3);
    expect(parseEngineFrames([new Uint8Array(0), b('kv'), seq(3n), p]).seq).toBe(3);
  });

  it('reads the -1 end marker, with or without its empty payload frame', () => {
    expect(parseEngineFrames([new Uint8Array(0), seq(-1n), new Uint8Array(0)]).seq).toBe(-1);
    expect(parseEngineFrames([new Uint8Array(0), seq(-1n)])).toEqual({
      seq: -1,
      payload: new Uint8Array(0),
    });
  });

  it('rejects broken framing with a reason', () => {
    expect(reason([b('only')])).toBe('frame-count');
    expect(reason([])).toBe('frame-count');
    expect(reason([b('kv'), b('1234567'), b('p')])).toBe('seq-size');
    expect(reason([seq(-5n), b('p')])).toBe('seq-range');
    expect(reason([seq(2n ** 60n), b('p')])).toBe('seq-range');
  });

  it('writes the replay start as 8 bytes big-endian', () => {
    expect([...seqBytes(258)]).toEqual([0, 0, 0, 0, 0, 0, 1, 2]);
    expect(parseEngineFrames([seqBytes(123456789012), b('x')]).seq).toBe(123456789012);
  });
});
