/**
 * One shard of a workspace's outbox. Readers tell it "I changed" once per dirty cycle; its alarm
 * drains the queue: it asks each reader for its latest state (many events, one identify), packs
 * people into v2 batch calls, and sends them no faster than its share of the workspace's Track
 * limit. Failures back off (honouring Retry-After) and stay queued in durable storage, so a
 * restart or a Customer.io outage loses nothing; past the retry budget they go to dead letters.
 */
import { DurableObject } from 'cloudflare:workers';
import type { Env } from '#edge/env.ts';
import { type CustomerIoCredentials, DEFAULT_SYNC_OPTIONS } from '#shared/workspace.ts';
import type { EdgeWorkspace } from '#edge/workspaces/edge-workspace.ts';
import { type CustomerIo, type Failure, customerIo, describeFailure } from '#edge/customerio/gateway.ts';
import { callIntervalMs } from '#edge/customerio/budget.ts';
import { type PackedReader, type V2Operation, mergeOperationsFor, packBatch } from '#edge/customerio/batch.ts';
import { backoffMs, sleep } from './pacing.ts';
import { type AckNews, type SyncSnapshot, lastSeqOf } from './snapshot.ts';
import { type DeadLetter, type PendingRow, type SettledReader, ShardStore } from './shard-store.ts';
import { type Clock, systemClock } from '#edge/platform/clock.ts';
import type { OmittedAttributes } from '#edge/customerio/attributes.ts';
import { ulid } from '#edge/platform/ulid.ts';
import { EMAIL_IDENTIFIER_REFUSED } from '#shared/identity.ts';
import { forgetWorkspaceEverywhere } from '#edge/workspaces/forget-everywhere.ts';
import { addReaderTokens } from '#edge/email/token-attribute.ts';
import { directoryStub, readerStub, workspaceStub } from '#edge/platform/stubs.ts';
import { settleBounded } from '#edge/platform/bounded.ts';

export type { DeadLetter } from './shard-store.ts';
export interface ShardStats {
  pending: number; deadLetters: number; calls: number; people: number; operations: number; retries: number; lastError: string | null;
  /** Readers whose last identify left attributes out to stay under Customer.io's 300, with a few examples. */
  attributesOmitted: { readers: number; examples: Array<{ key: string } & OmittedAttributes> };
}

/** How long one alarm keeps draining before it hands over to the next (keeps each invocation short). */
const DRAIN_BUDGET_MS = 20_000;
const CONFIG_TTL_MS = 30_000;
/** Readers per call to the reader directory (see feedDirectory). */
const DIRECTORY_CALL_READERS = 25;
/** A batch's snapshot and ack calls in flight at once (platform/bounded.ts says why not all). */
const READER_CALLS_IN_FLIGHT = 10;


export class SyncShard extends DurableObject<Env> {
  private readonly store: ShardStore;
  private config: { at: number; workspace: EdgeWorkspace; cio: CustomerIo; signingKey?: { kid: string; key: string } } | null = null;
  /**
   * The alarm this instance set (null: none; undefined: not known yet, read from storage). Every
   * reader's enqueue asks when the shard wakes next: this answers without a storage read.
   */
  private alarmAt: number | null | undefined;
  /** The time (a test replaces it to step through backoff and the resync interval). */
  clock: Clock = systemClock;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.store = new ShardStore(ctx.storage.sql);
  }

  // ---- queueing ----------------------------------------------------------------------------

  /**
   * A reader changed. Idempotent; the generation tells an ack in flight that there is news.
   * `quiet`: only its engagement counters moved (an open, a click), which waits `quietResyncMs`.
   */
  async enqueue(workspace: string, key: string, quiet = false): Promise<void> {
    this.setMeta('workspace', workspace);
    // A reader synced moments ago (opening the same email again, reading on) waits out the resync
    // interval: one identify then carries all of it, instead of one per change.
    const due = this.store.markDirty(key, this.clock.now(), quiet ? this.quietResyncMs() : this.resyncMs(), quiet);
    await this.wake(due);
  }

  /** Operations that belong to no reader any more (delete, suppress) or replayed dead letters. */
  async enqueueOps(workspace: string, ops: V2Operation[], keyPrefix = 'ops:'): Promise<void> {
    this.setMeta('workspace', workspace);
    this.store.insertOps(`${keyPrefix}${ulid()}`, ops, this.clock.now());
    await this.wake();
  }

  /** Settings or signing keys changed (e.g. a key rotation): read them afresh on the next send. */
  async forgetConfig(): Promise<void> {
    this.config = null;
  }

  /** Ready-made operations still queued under a key prefix (the backfill watches its own drain). */
  async pendingOps(keyPrefix: string): Promise<{ rows: number; operations: number }> {
    return this.store.pendingOps(keyPrefix);
  }

  async deadLetters(): Promise<DeadLetter[]> {
    return this.store.deadLetters();
  }

  /** Puts dead letters back in the queue (all, or the given ids). Returns how many. */
  async replayDeadLetters(ids?: number[]): Promise<number> {
    const letters = (await this.deadLetters()).filter((l) => !ids || ids.includes(l.id));
    for (const letter of letters) {
      this.store.insertOps(`ops:${ulid()}`, letter.ops, this.clock.now());
      this.store.deleteDeadLetter(letter.id);
    }
    if (letters.length) await this.wake();
    return letters.length;
  }

  async stats(): Promise<ShardStats> {
    return {
      pending: this.store.count('pending'), deadLetters: this.store.count('dead_letters'),
      calls: this.counter('calls'), people: this.counter('people'), operations: this.counter('operations'), retries: this.counter('retries'),
      lastError: this.getMeta('last_error'),
      attributesOmitted: this.store.omitted(5),
    };
  }

  // ---- draining ----------------------------------------------------------------------------

  override async alarm(): Promise<void> {
    // The alarm that woke us is spent; one set from here on is the next.
    this.alarmAt = null;
    const workspaceId = this.getMeta('workspace');
    if (!workspaceId) return;
    const config = await this.loadConfig(workspaceId);
    if (!config) {
      this.setMeta('last_error', 'workspace has no Customer.io credentials');
      await this.ctx.storage.setAlarm(this.clock.now() + 60_000);
      return;
    }
    const { workspace, cio } = config;
    // Kept for `enqueue`, which runs between alarms without loading the workspace.
    this.setMeta('resync_ms', String(workspace.sync.minResyncMs ?? DEFAULT_SYNC_OPTIONS.minResyncMs));
    this.setMeta('quiet_resync_ms', String(workspace.sync.quietResyncMs ?? DEFAULT_SYNC_OPTIONS.quietResyncMs));
    const interval = callIntervalMs(workspace.limits, 'track', 'sync', workspace.sync.shards);
    const started = this.clock.now();
    while (this.clock.now() - started < DRAIN_BUDGET_MS) {
      const now = this.clock.now();
      const notBefore = Math.max(Number(this.getMeta('next_send_at') ?? 0), Number(this.getMeta('backoff_until') ?? 0));
      if (notBefore > now) {
        if (notBefore - now > 1_000) return this.scheduleAt(notBefore);
        await sleep(notBefore - now);
        continue;
      }
      const rows = this.store.due(now, workspace.sync.batchSize);
      if (rows.length === 0) break;
      // A part-full batch waits a moment for company: during a burst that turns many small calls
      // into few full ones (fewer calls against the limit), and costs a reader at most `lingerMs`.
      // The moment counts from when a row came due, not from its enqueue: readers waiting out their
      // resync interval come due one by one, and counted from their enqueue (long past) each would
      // go in a call of its own.
      const readyAt = Math.min(...rows.map((r) => Math.max(r.enqueued_at, r.next_at))) + (workspace.sync.lingerMs ?? DEFAULT_SYNC_OPTIONS.lingerMs);
      if (rows.length < workspace.sync.batchSize && readyAt > now) {
        await sleep(readyAt - now);
        continue;
      }
      try {
        await this.sendOnce(workspaceId, rows, cio, workspace, interval);
      } catch (error) {
        // A reader object unreachable, say: everything is still queued. Keep our own schedule
        // rather than lean on the runtime's alarm retries, which give up after a few.
        this.setMeta('last_error', `drain: ${(error as Error).message}`);
        console.warn(`sync ${workspaceId}: drain failed, retrying in 5 s: ${(error as Error).message}`);
        return this.scheduleAt(this.clock.now() + 5_000);
      }
    }
    this.store.forgetSyncedBefore(this.clock.now() - Math.max(this.resyncMs(), this.quietResyncMs()));
    const next = this.store.nextDueAt();
    if (next !== null) await this.scheduleAt(Math.max(next, Number(this.getMeta('next_send_at') ?? 0)));
  }

  private async sendOnce(workspaceId: string, rows: PendingRow[], cio: CustomerIo, workspace: EdgeWorkspace, interval: number): Promise<void> {
    const snapshots = await settleBounded(rows, READER_CALLS_IN_FLIGHT, (row) => this.snapshotOf(workspaceId, row));
    const unreachable = snapshots.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    if (unreachable) throw unreachable.reason;
    const readers = rows.map((row, i) => ({ row, snapshot: (snapshots[i] as PromiseFulfilledResult<SyncSnapshot | null>).value }));
    for (const { row, snapshot } of readers) {
      if (!snapshot) this.store.done(row);
    }
    const live = readers.filter((r): r is { row: PendingRow; snapshot: SyncSnapshot } => r.snapshot !== null);
    const rowOf = new Map(live.map((r) => [r.snapshot.key, r.row]));
    // Merges first, in a call of their own; the readers' identifies go in the next call, once
    // Customer.io took the merges (it applies one batch's operations in no promised order).
    const merges = live.flatMap(({ snapshot }) => mergeOperationsFor(snapshot)
      .filter((m) => !this.mergeSent(snapshot.key, m.seq)).map((m) => ({ snapshot, ...m })));
    if (merges.length) return this.sendMerges(workspaceId, merges, rowOf, cio, workspace, interval);
    await addReaderTokens(live.map((r) => r.snapshot), workspaceId, workspace.attributePrefix, this.config?.signingKey);
    const { batch, oversized } = packBatch(live.map((r) => r.snapshot));
    for (const reader of oversized) await this.deadLetter(workspaceId, reader, rowOf.get(reader.snapshot.key)!, 'an operation is larger than 32 KB', null);
    if (batch.length === 0) return;

    const ops = batch.flatMap((r) => r.ops);
    this.setMeta('next_send_at', String(this.clock.now() + interval));
    const outcome = await cio.batch(ops);
    this.bump('calls');
    this.bump('operations', ops.length);
    this.bump('people', batch.filter((r) => !r.snapshot.key.startsWith('ops:')).length);

    if (outcome.kind === 'ok' || outcome.kind === 'partial') {
      this.setMeta('backoff_until', '0');
      const failed = new Map<PackedReader, string>();
      if (outcome.kind === 'partial') {
        let start = 0;
        for (const reader of batch) {
          const end = start + reader.ops.length;
          const errors = outcome.errors.filter((e) => e.batch_index >= start && e.batch_index < end);
          if (errors.length) failed.set(reader, errors.map((e) => `${e.field ?? ''} ${e.reason ?? ''} ${e.message ?? ''}`.trim()).join('; '));
          start = end;
        }
      }
      if ([...failed.values()].some((e) => EMAIL_IDENTIFIER_REFUSED.test(e))) {
        await this.emailIsNoIdentifier(workspaceId, [...failed.entries()].filter(([, e]) => EMAIL_IDENTIFIER_REFUSED.test(e)).map(([r]) => r), rowOf);
        for (const [reader, e] of [...failed]) if (EMAIL_IDENTIFIER_REFUSED.test(e)) { failed.delete(reader); batch.splice(batch.indexOf(reader), 1); }
      }
      // Acks go to different reader objects: side by side (a few at a time). The shard's own
      // bookkeeping for the whole batch is written afterwards in one synchronous block, so it is
      // one storage transaction rather than one per reader as each ack comes back.
      const acks = await settleBounded(batch, READER_CALLS_IN_FLIGHT, (reader) => this.ackReader(workspaceId, reader.snapshot, rowOf.get(reader.snapshot.key)!));
      const now = this.clock.now();
      const settled: SettledReader[] = [];
      acks.forEach((ack, i) => {
        if (ack.status === 'rejected') return;
        const reader = batch[i]!;
        const row = rowOf.get(reader.snapshot.key)!;
        const error = failed.get(reader);
        if (error) this.noteDeadLetter(workspaceId, reader, row, error, 207);
        settled.push(this.settled(reader.snapshot, row, ack.value, now));
      });
      this.store.settle(settled, now);
      const refused = acks.find((ack): ack is PromiseRejectedResult => ack.status === 'rejected');
      if (refused) throw refused.reason;
      await this.feedDirectory(workspaceId, batch.filter((r) => !failed.has(r)));
      return;
    }

    await this.failed(workspaceId, batch, rowOf, outcome, workspace);
  }

  /** A call failed as a whole: a wrong request is dead-lettered, anything else waits and is tried again. */
  private async failed(workspaceId: string, batch: PackedReader[], rowOf: Map<string, PendingRow>, outcome: Failure, workspace: EdgeWorkspace): Promise<void> {
    this.bump('retries');
    this.setMeta('last_error', describeFailure(outcome));
    const now = this.clock.now();
    if (outcome.kind === 'reject' && EMAIL_IDENTIFIER_REFUSED.test(outcome.message)) return this.emailIsNoIdentifier(workspaceId, batch, rowOf);
    if (outcome.kind === 'reject' && outcome.status !== 401 && outcome.status !== 403) {
      // The request itself is wrong: retrying the same content cannot help.
      for (const reader of batch) await this.deadLetter(workspaceId, reader, rowOf.get(reader.snapshot.key)!, outcome.message, outcome.status);
      return;
    }
    // Retryable (or bad credentials a publisher can fix): everything stays queued, later.
    const retryAfter = outcome.kind === 'retry' ? outcome.retryAfterMs : null;
    for (const reader of batch) {
      const row = rowOf.get(reader.snapshot.key)!;
      const attempts = row.attempts + 1;
      if (attempts >= workspace.sync.maxAttempts) {
        await this.deadLetter(workspaceId, reader, row, outcome.message, outcome.status);
        continue;
      }
      this.store.retryLater(row.key, attempts, now + backoffMs(attempts, retryAfter), outcome.message);
    }
    // The whole shard pauses too: Customer.io is limiting or down for everyone in this workspace.
    const pause = backoffMs(Math.min(...batch.map((r) => rowOf.get(r.snapshot.key)!.attempts + 1)), retryAfter);
    this.setMeta('backoff_until', String(now + pause));
  }

  /**
   * The merges of this round, alone in one call. Each one Customer.io took is remembered (until
   * the reader's ack clears it), so a retry of the identify never sends a merge twice. A merge
   * Customer.io refuses (a 207 item) is dead-lettered on its own; the reader's identify still goes.
   */
  private async sendMerges(workspaceId: string, merges: Array<{ snapshot: SyncSnapshot; seq: number; op: V2Operation }>,
    rowOf: Map<string, PendingRow>, cio: CustomerIo, workspace: EdgeWorkspace, interval: number): Promise<void> {
    this.setMeta('next_send_at', String(this.clock.now() + interval));
    const outcome = await cio.batch(merges.map((m) => m.op));
    this.bump('calls');
    this.bump('operations', merges.length);
    if (outcome.kind === 'ok' || outcome.kind === 'partial') {
      this.setMeta('backoff_until', '0');
      merges.forEach((m, index) => {
        const errors = outcome.kind === 'partial' ? outcome.errors.filter((e) => e.batch_index === index) : [];
        if (errors.length) {
          const row = rowOf.get(m.snapshot.key)!;
          this.store.addDeadLetter(row.key, [m.op], errors.map((e) => `${e.field ?? ''} ${e.reason ?? ''} ${e.message ?? ''}`.trim()).join('; '), 207, row.attempts + 1, this.clock.now());
        }
        this.store.noteMergeSent(m.snapshot.key, m.seq);
      });
      return;
    }
    const readers = [...new Set(merges.map((m) => m.snapshot))].map((snapshot) => ({ snapshot, ops: mergeOperationsFor(snapshot).map((m) => m.op), bytes: 0 }));
    await this.failed(workspaceId, readers, rowOf, outcome, workspace);
  }

  /**
   * Customer.io said this workspace does not take email as an identifier. The workspace remembers it
   * (every cache forgets its copy), and these readers go again at once, as `email:<address>` ids
   * (shared/identity.ts): not dead letters, and no attempt counted against them.
   */
  private async emailIsNoIdentifier(workspaceId: string, readers: PackedReader[], rowOf: Map<string, PendingRow>): Promise<void> {
    const changed = await workspaceStub(this.env, workspaceId).noteIdOnly(this.clock.now());
    // Read afresh now: the next snapshot in this very alarm must already use ids.
    this.config = null;
    await this.loadConfig(workspaceId);
    if (changed) {
      const ws = await workspaceStub(this.env, workspaceId).edgeView();
      if (ws) await forgetWorkspaceEverywhere(this.env, workspaceId, ws.sync.shards);
    }
    this.setMeta('last_error', 'Customer.io does not take email as an identifier in this workspace: email-only readers now go as id "email:<address>"');
    for (const reader of readers) this.store.again(rowOf.get(reader.snapshot.key)!.key);
  }

  private mergeSent(key: string, seq: number): boolean {
    return this.store.mergeSent(key, seq);
  }

  /**
   * The panel's reader directory learns what Customer.io now holds, never fatally: in calls of at
   * most DIRECTORY_CALL_READERS readers, one after another, as a call holds the isolate's one thread
   * while it writes (a whole batch of 100 blocked it for tens of ms, and every pixel answer waited).
   */
  private async feedDirectory(workspaceId: string, synced: PackedReader[]): Promise<void> {
    const summaries = synced.flatMap((r) => (r.snapshot.summary ? [r.snapshot.summary] : []));
    for (let i = 0; i < summaries.length; i += DIRECTORY_CALL_READERS) {
      const part = summaries.slice(i, i + DIRECTORY_CALL_READERS);
      try {
        await directoryStub(this.env, workspaceId).upsertReaders(workspaceId, part);
      } catch (error) {
        console.warn(`sync ${workspaceId}: the reader directory missed ${part.length} update(s): ${(error as Error).message}`);
      }
    }
  }

  private async snapshotOf(workspaceId: string, row: PendingRow): Promise<SyncSnapshot | null> {
    if (row.ops !== null) {
      // Ready-made operations carry their own identifiers; wrapped so packing and acks treat them alike.
      return { key: row.key, version: 0, identifiers: { id: row.key }, attributes: {}, ops: [], raw: JSON.parse(row.ops) as V2Operation[] };
    }
    return this.reader(workspaceId, row.key).syncSnapshot(50, this.config?.workspace.identifierMode);
  }

  private async acknowledge(workspaceId: string, snapshot: SyncSnapshot, row: PendingRow): Promise<void> {
    const news = await this.ackReader(workspaceId, snapshot, row);
    const now = this.clock.now();
    this.store.settle([this.settled(snapshot, row, news, now)], now);
  }

  /**
   * Tells the reader what landed; returns what it has left to send. Ready-made operations have no
   * reader, and a reader that handed its change over needs no telling.
   */
  private async ackReader(workspaceId: string, snapshot: SyncSnapshot, row: PendingRow): Promise<AckNews> {
    if (row.ops !== null || snapshot.handedOver) return 'none';
    return this.reader(workspaceId, row.key).syncAck(snapshot.version, lastSeqOf(snapshot), snapshot.identifiers);
  }

  /** The shard's side of an ack (the store writes a batch's together): what `settle` records. */
  private settled(snapshot: SyncSnapshot, row: PendingRow, news: AckNews, now: number): SettledReader {
    return {
      key: row.key, generation: row.generation, ownRow: row.ops === null, omitted: snapshot.omitted ?? null,
      lastSeq: lastSeqOf(snapshot),
      againAt: news === 'none' ? null : now + (news === 'quiet' ? this.quietResyncMs() : this.resyncMs()),
      // A change while it was out waits as its enqueue said (the row knows whether any mattered).
      changedAgain: snapshot.handedOver ? { quiet: now + this.quietResyncMs(), loud: now + this.resyncMs() } : null,
    };
  }

  private resyncMs(): number {
    return Number(this.getMeta('resync_ms') ?? DEFAULT_SYNC_OPTIONS.minResyncMs);
  }

  private quietResyncMs(): number {
    return Number(this.getMeta('quiet_resync_ms') ?? DEFAULT_SYNC_OPTIONS.quietResyncMs);
  }

  private async deadLetter(workspaceId: string, reader: PackedReader, row: PendingRow, error: string, status: number | null): Promise<void> {
    this.noteDeadLetter(workspaceId, reader, row, error, status);
    // Acknowledge so the reader does not send the same failing content forever; its next change syncs afresh.
    await this.acknowledge(workspaceId, reader.snapshot, row);
  }

  private noteDeadLetter(workspaceId: string, reader: PackedReader, row: PendingRow, error: string, status: number | null): void {
    this.store.addDeadLetter(row.key, reader.ops, error, status, row.attempts + 1, this.clock.now());
    console.warn(`sync ${workspaceId}: dead-lettered ${reader.ops.length} operation(s) for ${row.key}: ${error}`);
  }

  private reader(workspaceId: string, key: string) {
    return readerStub(this.env, workspaceId, key);
  }

  private async loadConfig(workspaceId: string) {
    if (this.config && this.clock.now() - this.config.at < CONFIG_TTL_MS) return this.config;
    const stub = workspaceStub(this.env, workspaceId);
    const [workspace, credentials, keys] = await Promise.all([stub.edgeView(), stub.credentials(), stub.signingKeys()]);
    if (!workspace || !credentials) return null;
    this.config = { at: this.clock.now(), workspace, cio: customerIo(credentials as CustomerIoCredentials, this.env.CUSTOMERIO_BASE_URL || undefined), signingKey: keys[0] };
    return this.config;
  }

  /**
   * Makes sure an alarm comes by `due` (or as soon as the pacing allows). An alarm set for later
   * (the shard waiting out quiet readers' minute) is brought forward: a new reader's sign-up
   * must not wait behind them.
   */
  private async wake(due = 0): Promise<void> {
    const at = Math.max(this.clock.now(), due, Number(this.getMeta('next_send_at') ?? 0), Number(this.getMeta('backoff_until') ?? 0));
    const current = this.alarmAt === undefined ? await this.ctx.storage.getAlarm() : this.alarmAt;
    if (current === null || current > at) await this.scheduleAt(at);
  }

  private async scheduleAt(at: number): Promise<void> {
    // Known before the write is: an enqueue while it is under way compares with this one.
    this.alarmAt = at;
    try {
      await this.ctx.storage.setAlarm(at);
    } catch (error) {
      this.alarmAt = undefined;
      throw error;
    }
  }

  private getMeta(k: string): string | null {
    return this.store.meta.get(k);
  }

  private setMeta(k: string, v: string): void {
    this.store.meta.set(k, v);
  }

  private counter(name: string): number {
    return Number(this.getMeta(`count:${name}`) ?? 0);
  }

  private bump(name: string, by = 1): void {
    this.setMeta(`count:${name}`, String(this.counter(name) + by));
  }
}
