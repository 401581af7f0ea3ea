/**
 * The segment mirror in Customer.io as a queue of differences. For each (segment, reader) pair the
 * queue holds at most one entry: what Customer.io must be told so that it holds the reader's current
 * identifier when the reader is a member, and nothing when not, given what it holds (`mirrored`).
 * Recomputing the entry whenever membership, identifier or what is held changes coalesces any burst
 * of changes into one call's worth. Pure.
 *
 * An identifier change (a reader the backend later names by id) is an `add` of the new identifier
 * only: Customer.io resolves both to the same person, so removing the old one would take them out.
 */
export interface Ident { idType: 'id' | 'email'; value: string }
export interface QueueEntry extends Ident { action: 'add' | 'remove' }

/** Customer.io takes at most 1,000 identifiers per add/remove call on a manual segment. */
export const IDS_PER_CALL = 1000;

/** The order calls drain in: removals first (a reader moving segments is never counted twice). */
export const DRAIN_ORDER: ReadonlyArray<Pick<QueueEntry, 'action' | 'idType'>> = [
  { action: 'remove', idType: 'id' }, { action: 'remove', idType: 'email' },
  { action: 'add', idType: 'id' }, { action: 'add', idType: 'email' },
];

const same = (a: Ident | null, b: Ident | null) => a !== null && b !== null && a.idType === b.idType && a.value === b.value;

/** `held`: what Customer.io holds for the pair; `want`: the member's identifier, or null when not a member (or unreachable). */
export function queueEntry(held: Ident | null, want: Ident | null): QueueEntry | null {
  if (want) return same(held, want) ? null : { action: 'add', ...want };
  return held ? { action: 'remove', ...held } : null;
}

/** What Customer.io holds for the pair once `sent` succeeded. */
export function heldAfter(held: Ident | null, sent: QueueEntry): Ident | null {
  if (sent.action === 'add') return { idType: sent.idType, value: sent.value };
  return same(held, sent) ? null : held;
}

/** Splits queued entries of one (action, id type) into calls of at most IDS_PER_CALL identifiers. */
export function toCalls<T extends { value: string }>(entries: readonly T[], max = IDS_PER_CALL): T[][] {
  const calls: T[][] = [];
  for (let i = 0; i < entries.length; i += max) calls.push(entries.slice(i, i + max));
  return calls;
}
