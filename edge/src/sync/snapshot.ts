/** What a reader hands its outbox shard: its latest state as attributes, plus queued operations. */
import type { OmittedAttributes, PersonIdentifiers } from '#edge/customerio/attributes.ts';
import type { ReaderSummary } from '#shared/panel.ts';
import type { V2Operation } from '#edge/customerio/batch.ts';

export type QueuedOp =
  | { kind: 'event' | 'page'; id: string; name: string; ts: number; data: Record<string, unknown> }
  | { kind: 'merge'; primary: PersonIdentifiers; secondary: PersonIdentifiers }
  /** The reader joined (`identify`: the object made or updated, the relation added) or left a company. */
  | { kind: 'object'; action: 'identify' | 'delete_relationships'; objectTypeId: string; objectId: string; attributes: Record<string, unknown> };

/**
 * What a reader's ack says is left: nothing (`none`), changes that only moved counters since the
 * snapshot (`quiet`: they wait the quiet interval), or more that matters (`more`).
 */
export type AckNews = 'none' | 'quiet' | 'more';

export interface SyncSnapshot {
  key: string;
  version: number;
  identifiers: PersonIdentifiers;
  attributes: Record<string, unknown>;
  /** Attributes left out to stay under Customer.io's 300 (customerio/attributes.ts), if any. */
  omitted?: OmittedAttributes | null;
  ops: Array<QueuedOp & { seq: number }>;
  /** The reader as the panel's directory keeps it, written there once this sync lands. */
  summary?: ReaderSummary;
  /** Ready-made operations that belong to no reader any more (a deletion, a replayed dead letter). */
  raw?: V2Operation[];
  /**
   * The reader handed its change over with this snapshot and needs no ack: it queued nothing and
   * Customer.io already knows it by these identifiers (a counter-only change, most opens). It counts
   * itself out of the shard from now on, so its next change tells the shard again; the shard keeps
   * the row until Customer.io takes it.
   */
  handedOver?: true;
}

/** The last operation a snapshot carries (0: none): what an ack clears the reader's outbox up to. */
export const lastSeqOf = (snapshot: Pick<SyncSnapshot, 'ops'>): number => snapshot.ops.reduce((max, op) => Math.max(max, op.seq), 0);
