import type { FinishInfo, RequestSink } from './realtime-engine.js';

export type StreamPiece =
  { type: 'tokens'; ids: Uint32Array; position: number } | { type: 'finish'; info: FinishInfo };

/**
 * One request's output as an async sequence: token pieces then a finish.
 * Pieces the consumer has not taken yet are merged into one, as vLLM's
 * output collector merges deltas for a client that reads slower than the
 * engine steps. Single consumer.
 */
export class RequestStream implements RequestSink {
  private pendingIds: number[] = [];
  private position = 0;
  private finished: FinishInfo | undefined;
  private delivered = false;
  private wake: (() => void) | undefined;

  tokens(ids: Uint32Array): void {
    for (const id of ids) this.pendingIds.push(id);
    this.wakeUp();
  }

  finish(info: FinishInfo): void {
    this.finished ??= info;
    this.wakeUp();
  }

  private wakeUp(): void {
    const w = this.wake;
    this.wake = undefined;
    w?.();
  }

  /** The next piece: every token produced since the last call, else the finish, else waits. */
  async next(): Promise<StreamPiece | undefined> {
    for (;;) {
      if (this.pendingIds.length > 0) {
        const ids = Uint32Array.from(this.pendingIds);
        this.pendingIds = [];
        const position = this.position;
        this.position += ids.length;
        return { type: 'tokens', ids, position };
      }
      if (this.finished) {
        if (this.delivered) return undefined;
        this.delivered = true;
        return { type: 'finish', info: this.finished };
      }
      await new Promise<void>((resolve) => (this.wake = resolve));
    }
  }

  /** Waits for the end: every output token id and the finish. */
  async collect(): Promise<{ ids: Uint32Array; info: FinishInfo }> {
    const all: number[] = [];
    for (;;) {
      const p = await this.next();
      if (!p) throw new Error('stream already consumed');
      if (p.type === 'finish') return { ids: Uint32Array.from(all), info: p.info };
      for (const id of p.ids) all.push(id);
    }
  }
}
