/**
 * Turns reader snapshots into Customer.io v2 batch operations, packed under the API's limits
 * (each operation ≤ 32 KB, each call < 500 KB). Pure: the outbox shard does the I/O.
 */
import type { SyncSnapshot } from '#edge/sync/snapshot.ts';
import { unixSeconds } from './attributes.ts';

export const MAX_OPERATION_BYTES = 32 * 1024;
export const MAX_BATCH_BYTES = 450 * 1024; // under the documented 500 KB, leaving room for the envelope

export type V2Operation = Record<string, unknown> & { type: 'person' | 'object'; action: string };

/**
 * A reader's identify and events, in the order Customer.io must apply them. Merges are not among
 * them: Customer.io applies a batch's operations asynchronously, in no promised order, so a merge
 * packed beside the identify could land after it. Merges go first in a call of their own
 * (`mergeOperationsFor`), and the identify follows once that call succeeded.
 */
export function operationsFor(snapshot: SyncSnapshot): V2Operation[] {
  if (snapshot.raw) return snapshot.raw;
  const ops: V2Operation[] = [{ type: 'person', action: 'identify', identifiers: snapshot.identifiers, attributes: snapshot.attributes }];
  // No `anonymous_id` identifies: the edge never sends anonymous activity to Customer.io (anonymous
  // readers are not people there), so there is nothing for one to merge. Their history reaches the
  // person through our own merge, as counters and attributes (README "Identity").
  for (const op of snapshot.ops) {
    if (op.kind === 'merge') continue;
    if (op.kind === 'object') {
      // A company: the object identified (made or updated) with this person related, or the relation ended.
      ops.push({
        type: 'object', action: op.action, identifiers: { object_type_id: op.objectTypeId, object_id: op.objectId },
        ...(op.action === 'identify' ? { attributes: op.attributes } : {}),
        cio_relationships: [{ identifiers: snapshot.identifiers }],
      } as unknown as V2Operation);
      continue;
    }
    ops.push({
      type: 'person',
      action: op.kind, // 'event' or 'page' (a page view's name is its path, `pageViewName`)
      identifiers: snapshot.identifiers,
      id: op.id,
      name: op.name,
      timestamp: unixSeconds(op.ts),
      attributes: op.data,
    });
  }
  return ops;
}

/** The merges a reader has queued (two people in Customer.io found to be one), with their outbox seq. */
export function mergeOperationsFor(snapshot: SyncSnapshot): Array<{ seq: number; op: V2Operation }> {
  return snapshot.ops.flatMap((op) => (op.kind === 'merge'
    ? [{ seq: op.seq, op: { type: 'person', action: 'merge', primary: op.primary, secondary: op.secondary } as V2Operation }]
    : []));
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
