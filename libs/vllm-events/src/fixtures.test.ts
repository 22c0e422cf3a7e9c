import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { decodeVllmBatch } from './decode.js';
import { VllmDecodeError } from './errors.js';
import type { HashSeq, VllmEvent } from './types.js';

const here = new URL('../fixtures/', import.meta.url);
const shared = new URL('../../../../shared/fixtures/vllm-events/', import.meta.url);

interface Case {
  file: string;
  shape: string;
  error?: boolean;
  data_parallel_rank?: number | null;
  events?: Record<string, unknown>[];
}
const manifest = JSON.parse(readFileSync(new URL('manifest.json', here), 'utf8')) as {
  cases: Case[];
};

function hashStrings(seq: HashSeq): string[] {
  const out: string[] = [];
  for (let i = 0; i < seq.length; i += 2) {
    out.push(((BigInt(seq[i + 1]!) << 32n) | BigInt(seq[i]!)).toString());
  }
  return out;
}

/** The decoded event in the manifest's vocabulary, to compare field by field. */
function asManifest(e: VllmEvent): Record<string, unknown> {
  switch (e.type) {
    case 'BlockStored':
      return {
        type: e.type,
        block_hashes: hashStrings(e.blockHashes),
        parent_block_hash: e.parentBlockHash ? hashStrings(e.parentBlockHash)[0] : null,
        token_ids: Array.from(e.tokenIds),
        block_size: e.blockSize,
        medium: e.medium,
        lora_name: e.loraName,
        lora_id: e.loraId,
        extra_keys: e.extraKeys,
      };
    case 'BlockRemoved':
      return { type: e.type, block_hashes: hashStrings(e.blockHashes), medium: e.medium };
    case 'AllBlocksCleared':
      return { type: e.type };
  }
}

describe('vLLM fixture manifest', () => {
  it('lists every fixture file, valid and malformed', () => {
    const files = readdirSync(here).filter((f) => f.endsWith('.msgpack'));
    expect(manifest.cases.map((c) => c.file).sort()).toEqual(files.sort());
    expect(manifest.cases.filter((c) => c.error).length).toBeGreaterThanOrEqual(6);
  });

  it.runIf(existsSync(shared))('is an unchanged copy of the shared fixture set', () => {
    for (const f of readdirSync(shared)) {
      expect(readFileSync(new URL(f, here)), f).toEqual(readFileSync(new URL(f, shared)));
    }
  });

  for (const c of manifest.cases) {
    const payload = readFileSync(new URL(c.file, here));
    if (c.error) {
      it(`rejects ${c.file} with a typed error`, () => {
        let err: unknown;
        try {
          decodeVllmBatch(payload);
        } catch (e) {
          err = e;
        }
        expect(err).toBeInstanceOf(VllmDecodeError);
        expect((err as VllmDecodeError).message).toMatch(/ at \$/);
      });
    } else {
      it(`decodes ${c.file} (${c.shape}) exactly`, () => {
        const batch = decodeVllmBatch(payload);
        expect(batch.dataParallelRank).toBe(c.data_parallel_rank ?? null);
        expect(typeof batch.ts).toBe('number');
        expect(batch.events.map(asManifest)).toEqual(c.events);
      });
    }
  }

  it('names the reason for each malformed case', () => {
    const reasons = Object.fromEntries(
      manifest.cases
        .filter((c) => c.error)
        .map((c) => {
          try {
            decodeVllmBatch(readFileSync(new URL(c.file, here)));
            return [c.file, 'decoded'];
          } catch (e) {
            return [c.file, (e as VllmDecodeError).reason];
          }
        }),
    );
    expect(reasons).toEqual({
      'x-empty.msgpack': 'empty',
      'x-not-a-batch.msgpack': 'not-a-batch',
      'x-token-count-mismatch.msgpack': 'token-count',
      'x-truncated.msgpack': 'msgpack',
      'x-unknown-tag.msgpack': 'unknown-event',
      'x-wrong-types.msgpack': 'wrong-type',
    });
  });
});
