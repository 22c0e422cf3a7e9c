import type { VllmEventBatch } from '@kvroute/vllm-events';
import { decodeVllmBatch } from '@kvroute/vllm-events';

/**
 * The engine's ZMQ framing, read leniently. vLLM's PUB sends
 * `[topic, seq, payload]` (older engines `[seq, payload]`); its replay ROUTER
 * answers a DEALER with `[empty, seq, payload]` per buffered batch and ends with
 * `[empty, seq = -1, empty]`; some versions add or omit the empty or the topic
 * frame. In every variant the sequence number is the second-to-last frame and
 * the payload the last, so that is the rule; a lone trailing 8-byte frame is
 * accepted as an end marker whose empty payload frame was dropped.
 */
export interface EngineFrame {
  /** The engine's sequence number (u64 big-endian on the wire), or -1 for the replay end marker. */
  seq: number;
  payload: Uint8Array;
}

export type FrameError = 'frame-count' | 'seq-size' | 'seq-range';

export class FrameParseError extends Error {
  override name = 'FrameParseError';
  constructor(readonly reason: FrameError) {
    super(`malformed ZMQ message: ${reason}`);
  }
}

const EMPTY = new Uint8Array(0);

function readSeq(frame: Uint8Array): number {
  if (frame.byteLength !== 8) throw new FrameParseError('seq-size');
  const dv = new DataView(frame.buffer, frame.byteOffset, 8);
  const hi = dv.getInt32(0);
  const lo = dv.getUint32(4);
  if (hi === -1 && lo === 0xffff_ffff) return -1;
  // Engines count from 0 by one per batch: anything past 2^53 is corrupt, not a counter.
  if (hi < 0 || hi >= 0x20_0000) throw new FrameParseError('seq-range');
  return hi * 0x1_0000_0000 + lo;
}

/** Parses one multipart message; throws FrameParseError (never anything else). */
export function parseEngineFrames(frames: readonly Uint8Array[]): EngineFrame {
  const n = frames.length;
  if (n >= 2 && frames[n - 2]!.byteLength === 8) {
    return { seq: readSeq(frames[n - 2]!), payload: frames[n - 1]! };
  }
  if (n >= 1 && frames[n - 1]!.byteLength === 8) {
    const seq = readSeq(frames[n - 1]!);
    if (seq === -1) return { seq, payload: EMPTY };
  }
  if (n < 2) throw new FrameParseError('frame-count');
  throw new FrameParseError('seq-size');
}

/** 8-byte big-endian sequence number, as the replay request carries it. */
export function seqBytes(seq: number): Uint8Array {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigInt64(0, BigInt(seq));
  return b;
}

/** A frame with its payload decoded (once, on arrival) or the reason it did not decode. */
export interface DecodedFrame extends EngineFrame {
  readonly decoded: boolean;
  readonly batch: VllmEventBatch | undefined;
  readonly error: unknown;
}

export function decodeFrame(f: EngineFrame): DecodedFrame {
  try {
    return {
      seq: f.seq,
      payload: f.payload,
      decoded: true,
      batch: decodeVllmBatch(f.payload),
      error: undefined,
    };
  } catch (error) {
    return { seq: f.seq, payload: f.payload, decoded: false, batch: undefined, error };
  }
}
