import type { KeySeq } from '@kvroute/block-keys';
import type { PodMatch, PrefixIndex } from '@kvroute/prefix-index';
import { createPrefixIndex } from '@kvroute/prefix-index';

/**
 * The router's own record of where it sent which prefix, per model: a prefix
 * index holding only speculative entries, each with the lifetime the caller
 * gives (a few seconds until an index confirms them, or minutes when nothing
 * else ever will). Approximate pseudo-token keys and engine-token keys share
 * it: they are chains from different token spaces and never collide.
 *
 * Used for approximate mode always, and for speculative entries when there is
 * no embedded replica (whose index holds them itself, skipping keys a pod
 * already has). A pod's entries can be dropped here when it turns out
 * unreachable.
 */
export class SentRecord {
  private readonly byModel = new Map<string, PrefixIndex>();

  constructor(
    private readonly budgetBytes: number,
    private readonly now: () => number,
  ) {}

  /** Per candidate (in their order), the leading blocks of `keys` recorded for it. O(keys·W + pods). */
  lookup(model: string, keys: KeySeq, candidates: readonly string[]): PodMatch[] {
    return this.byModel.get(model)?.lookup(keys, { candidates }).matches ?? [];
  }

  /** Records that `pod` will hold `keys` for `ttlMs`. */
  mark(model: string, pod: string, keys: KeySeq, ttlMs: number): void {
    if (keys.length === 0 || ttlMs <= 0) return;
    let ix = this.byModel.get(model);
    if (!ix) {
      ix = createPrefixIndex({ budgetBytes: this.budgetBytes, now: this.now });
      this.byModel.set(model, ix);
    }
    ix.addSpeculative(pod, keys, ttlMs);
  }

  /**
   * Forgets everything recorded for `pod`: it could not be reached, so what was sent there
   * before is not cached there either (a restarted engine starts cold).
   */
  forget(model: string, pod: string): void {
    this.byModel.get(model)?.removePod(pod);
  }
}
