import { describe, expect, it } from 'vitest';
import { MAX_BATCH_BYTES, mergeOperationsFor, operationsFor, packBatch } from '#edge/customerio/batch.ts';
import { BACKOFF_MAX_MS, backoffMs, parseRetryAfter } from '#edge/sync/pacing.ts';
import { callIntervalMs } from '#edge/customerio/budget.ts';
import type { SyncSnapshot } from '#edge/sync/snapshot.ts';

const snapshot = (n: number, over: Partial<SyncSnapshot> = {}): SyncSnapshot => ({
  key: `e:r${n}@x.co`, version: 1, identifiers: { email: `r${n}@x.co` }, attributes: { sharpsend_reads: n }, ops: [], ...over,
});

describe('v2 batch operations', () => {
  it('orders a reader\'s operations: identify, then events; merges apart, for a call of their own', () => {
    const withMerge = snapshot(1, {
      ops: [
        { seq: 1, kind: 'event', id: '01J0000000000000000000000A', name: 'sharpsend_signed_up', ts: 1_700_000_000_500, data: { consent: true } },
        { seq: 2, kind: 'merge', primary: { email: 'r1@x.co' }, secondary: { id: 'u-1' } },
      ],
    });
    const ops = operationsFor(withMerge);
    expect(ops.map((o) => o.action)).toEqual(['identify', 'event']);
    expect(ops.some((o) => 'anonymous_id' in ((o.attributes as object | undefined) ?? {}))).toBe(false);
    expect(ops[1]).toMatchObject({ name: 'sharpsend_signed_up', timestamp: 1_700_000_000, id: '01J0000000000000000000000A' });
    expect(mergeOperationsFor(withMerge)).toEqual([
      { seq: 2, op: { type: 'person', action: 'merge', primary: { email: 'r1@x.co' }, secondary: { id: 'u-1' } } },
    ]);
  });

  it('packs readers whole and keeps each call under the size limit', () => {
    const big = 'x'.repeat(20_000);
    const snapshots = Array.from({ length: 40 }, (_, i) => snapshot(i, { attributes: { blob: big } }));
    const { batch, rest } = packBatch(snapshots);
    const bytes = new TextEncoder().encode(JSON.stringify({ batch: batch.flatMap((b) => b.ops) })).byteLength;
    expect(bytes).toBeLessThan(MAX_BATCH_BYTES + 100);
    expect(batch.length).toBeGreaterThan(10);
    expect(batch.length + rest.length).toBe(40);
    expect(rest[0]!.key).toBe(snapshots[batch.length]!.key);
  });

  it('sets aside a reader whose operation exceeds 32 KB instead of blocking the queue', () => {
    const { batch, oversized } = packBatch([snapshot(1, { attributes: { blob: 'x'.repeat(40_000) } }), snapshot(2)]);
    expect(oversized.map((o) => o.snapshot.key)).toEqual(['e:r1@x.co']);
    expect(batch.map((b) => b.snapshot.key)).toEqual(['e:r2@x.co']);
  });
});

describe('pacing and backoff', () => {
  it('spaces each shard so the sync stays inside its share of the limit', () => {
    const limits = { trackPerSecond: 100, appPerSecond: 10 };
    expect(callIntervalMs(limits, 'track', 'sync', 4)).toBe(48);
    expect(callIntervalMs({ trackPerSecond: 10, appPerSecond: 10 }, 'track', 'sync', 1)).toBe(118);
    // Calls in any one-second window, all shards together: at most 1000/interval per shard.
    const perSecond = 4 * Math.ceil(1000 / callIntervalMs(limits, 'track', 'sync', 4));
    expect(perSecond).toBeLessThanOrEqual(90);
  });

  it('backs off exponentially with jitter, capped, and never sooner than Retry-After', () => {
    expect(backoffMs(1, null, 0)).toBe(500);
    expect(backoffMs(1, null, 0.999)).toBeLessThanOrEqual(1000);
    expect(backoffMs(4, null, 0)).toBe(4000);
    expect(backoffMs(30, null, 0.999)).toBeLessThanOrEqual(BACKOFF_MAX_MS);
    expect(backoffMs(1, 7000, 0.5)).toBe(7000);
  });

  it('reads Retry-After as seconds or an HTTP date', () => {
    expect(parseRetryAfter('3')).toBe(3000);
    expect(parseRetryAfter(new Date(10_000).toUTCString(), 4_000)).toBe(6000);
    expect(parseRetryAfter('soon')).toBeNull();
    expect(parseRetryAfter(null)).toBeNull();
  });
});
