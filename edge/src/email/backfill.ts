/**
 * Backfill: give every person already in Customer.io the signed token attribute, so emails to
 * people who never visited the site still carry a working pixel and links.
 *
 * One step = one page of the App API's people search (`POST /v1/customers`, cursor paging), paced
 * under half the workspace's App API limit (the panel shares it), and the page's identify
 * operations handed to the outbox shards (`enqueueOps`), which write them through the same
 * throttled v2 batch sync as everything else. The cursor and counts live in the workspace's
 * object after every page, so a stopped run resumes where it was. The CLI (scripts/backfill.mjs)
 * drives steps and watches the shards drain.
 */
import type { Env } from '#edge/env.ts';
import type { EdgeWorkspace } from '#edge/workspaces/edge-workspace.ts';
import type { CustomerIoCredentials } from '#shared/workspace.ts';
import { type CioPerson, customerIo, describeFailure } from '#edge/customerio/gateway.ts';
import { callIntervalMs } from '#edge/customerio/budget.ts';
import type { V2Operation } from '#edge/customerio/batch.ts';
import { emailKey, shardOf } from '#edge/readers/names.ts';
import { readerKeyOfId } from '#shared/identity.ts';
import { type SigningKey, signReaderToken, tokenAttribute } from '#shared/email/tokens.ts';
import { allShards, shardStub } from '#edge/platform/stubs.ts';
import { sleep as pause } from '#edge/sync/pacing.ts';

export interface BackfillState {
  status: 'idle' | 'running' | 'done';
  cursor: string;
  pageSize: number;
  pages: number;
  people: number;
  enqueued: number;
  skipped: number;
  startedAt: number | null;
  finishedAt: number | null;
  lastCallAt: number;
  /** Set when the last step had to stop early (Customer.io limiting or failing): try again later. */
  retryAfterMs?: number;
  lastError?: string;
}

export const BACKFILL_OPS_PREFIX = 'ops:backfill:';
/** Operations per outbox row: a row is acked or dead-lettered whole. */
const OPS_PER_ROW = 50;

export const freshBackfill = (pageSize: number): BackfillState => ({
  status: 'idle', cursor: '', pageSize, pages: 0, people: 0, enqueued: 0, skipped: 0, startedAt: null, finishedAt: null, lastCallAt: 0,
});

/** The reader key the edge uses for this person (email first, as the server API's identify does). */
export function readerKeyOf(p: CioPerson): string | null {
  if (p.email) return emailKey(p.email);
  if (p.id) return readerKeyOfId(p.id);
  return null;
}

export interface StepDeps {
  env: Env;
  workspace: EdgeWorkspace;
  credentials: CustomerIoCredentials;
  key: SigningKey;
  sleep?: (ms: number) => Promise<void>;
}

export async function backfillStep(state: BackfillState, deps: StepDeps): Promise<BackfillState> {
  if (state.status === 'done') return state;
  const { env, workspace, credentials, key } = deps;
  const sleep = deps.sleep ?? pause;
  const interval = callIntervalMs(workspace.limits, 'app', 'backfill');
  const wait = state.lastCallAt + interval - Date.now();
  if (wait > 0) await sleep(wait);

  const cio = customerIo(credentials, env.CUSTOMERIO_BASE_URL || undefined);
  const next: BackfillState = { ...state, status: 'running', startedAt: state.startedAt ?? Date.now(), lastCallAt: Date.now() };
  delete next.retryAfterMs;
  delete next.lastError;
  const outcome = await cio.searchPeople(state.cursor, state.pageSize);
  if (outcome.kind !== 'ok') {
    const retry = outcome.kind === 'retry' ? (outcome.retryAfterMs ?? interval * 4) : 60_000;
    return { ...next, retryAfterMs: retry, lastError: describeFailure(outcome) };
  }
  const { people, next: cursor } = outcome.value;
  const byShard = new Map<number, V2Operation[]>();
  let skipped = 0;
  await Promise.all(people.map(async (person) => {
    const readerKey = readerKeyOf(person);
    if (!readerKey) {
      skipped++;
      return;
    }
    const identifiers = person.cio_id ? { cio_id: person.cio_id } : person.id ? { id: person.id } : { email: person.email! };
    const op: V2Operation = { type: 'person', action: 'identify', identifiers, attributes: { [tokenAttribute(workspace.attributePrefix)]: await signReaderToken(workspace.id, readerKey, key) } };
    const shard = shardOf(readerKey, workspace.sync.shards);
    byShard.set(shard, [...(byShard.get(shard) ?? []), op]);
  }));
  for (const [shard, ops] of byShard) {
    const stub = shardStub(env, workspace.id, shard);
    for (let i = 0; i < ops.length; i += OPS_PER_ROW) await stub.enqueueOps(workspace.id, ops.slice(i, i + OPS_PER_ROW), BACKFILL_OPS_PREFIX);
  }
  const done = !cursor;
  return {
    ...next,
    cursor,
    pages: state.pages + 1,
    people: state.people + people.length,
    enqueued: state.enqueued + people.length - skipped,
    skipped: state.skipped + skipped,
    status: done ? 'done' : 'running',
    finishedAt: done ? Date.now() : null,
  };
}

/** How many backfill operations the shards still hold (each row holds up to OPS_PER_ROW). */
export async function backfillPending(env: Env, workspace: EdgeWorkspace): Promise<{ rows: number; operations: number }> {
  const counts = await Promise.all(allShards(env, workspace.id, workspace.sync.shards).map((s) => s.pendingOps(BACKFILL_OPS_PREFIX)));
  return counts.reduce((sum, c) => ({ rows: sum.rows + c.rows, operations: sum.operations + c.operations }), { rows: 0, operations: 0 });
}
