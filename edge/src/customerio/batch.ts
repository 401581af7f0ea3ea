/**
 * Turns reader snapshots into Customer.io v2 batch operations, packed under the API's limits
 * (each operation ≤ 32 KB, each call < 500 KB). Pure: the outbox shard does the I/O.
 */
import type { SyncSnapshot } from '#edge/sync/snapshot.ts';
import { unixSeconds } from './attributes.ts';

export const MAX_OPERATION_BYTES = 32 * 1024;
export const MAX_BATCH_BYTES = 450 * 1024; // under the documented 500 KB, leaving room for the envelope

export type V2Operation = Record<string, unknown> & { type: 'person'; action: string };

/** Operations for one reader, in the order Customer.io must apply them: merges, identify, events. */
export function operationsFor(snapshot: SyncSnapshot): V2Operation[] {
  if (snapshot.raw) return snapshot.raw;
  const ops: V2Operation[] = [];
  for (const op of snapshot.ops) {
    if (op.kind === 'merge') ops.push({ type: 'person', action: 'merge', primary: op.primary, secondary: op.secondary });
  }
  ops.push({ type: 'person', action: 'identify', identifiers: snapshot.identifiers, attributes: snapshot.attributes });
  for (const anonymousId of snapshot.anonymousIds) {
    ops.push({ type: 'person', action: 'identify', identifiers: snapshot.identifiers, attributes: { anonymous_id: anonymousId } });
  }
  for (const op of snapshot.ops) {
    if (op.kind === 'merge') continue;
    ops.push({
      type: 'person',
      action: op.kind, // 'event' or 'page' (a page view's name is its URL)
      identifiers: snapshot.identifiers,
      id: op.id,
      name: op.name,
      timestamp: unixSeconds(op.ts),
      attributes: op.data,
    });
  }
  return ops;
}

const byteLength = (value: unknown) => new TextEncoder().encode(JSON.stringify(value)).byteLength;

export interface PackedReader { snapshot: SyncSnapshot; ops: V2Operation[]; bytes: number }

/**
 * Takes readers in order while the call stays under the limits. A reader's operations are never
 * split across calls, so one ack covers them. An operation over 32 KB cannot be sent at all: it is
 * reported as oversized for the dead-letter list instead of blocking the queue.
 */
export function packBatch(snapshots: SyncSnapshot[]): { batch: PackedReader[]; rest: SyncSnapshot[]; oversized: PackedReader[] } {
  const batch: PackedReader[] = [];
  const oversized: PackedReader[] = [];
  let total = 16;
  let i = 0;
  for (; i < snapshots.length; i++) {
    const snapshot = snapshots[i]!;
    const ops = operationsFor(snapshot);
    const sizes = ops.map(byteLength);
    const bytes = sizes.reduce((a, b) => a + b + 1, 0);
    if (sizes.some((s) => s > MAX_OPERATION_BYTES)) {
      oversized.push({ snapshot, ops, bytes });
      continue;
    }
    if (total + bytes > MAX_BATCH_BYTES && batch.length > 0) break;
    batch.push({ snapshot, ops, bytes });
    total += bytes;
  }
  return { batch, rest: snapshots.slice(i), oversized };
}
