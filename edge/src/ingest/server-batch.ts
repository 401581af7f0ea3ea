/**
 * POST /v1/server/batch (Segment's batch shape): the import path for a publisher's existing
 * subscribers. Each call goes through the same functions as the single identify/track calls
 * (server-calls.ts); this file only splits the batch, runs it with bounded concurrency and counts.
 *
 * Work per request, for the Workers limits: at most 1,000 calls and 500 KB. Each identify is at most
 * 3 reader RPCs (the target, plus a link for the userId beside an email and one for the anonymous
 * id); a person's consecutive track calls share one RPC. So a full batch makes at most ~3,000
 * subrequests (a CSV import with email + user id: 2,000), within the paid plan's 10,000 per request,
 * and at most 16 are in flight at once.
 */
import type { Env } from '#edge/env.ts';
import { type BatchResult, MAX_BATCH_BYTES, MAX_BATCH_CALLS, serverBatchSchema } from '#shared/server-api.ts';
import { ClientError, parseOr400, readJson } from '#edge/platform/errors.ts';
import type { EdgeWorkspace } from '#edge/workspaces/edge-workspace.ts';
import type { AnyReaderEvent } from '#edge/readers/apply-event.ts';
import type { ReaderKey } from '#edge/readers/names.ts';
import { type PlannedCall, planBatch } from '#edge/ingest/batch-plan.ts';
import { identifyReader, trackEvent, trackEvents, trackTarget } from '#edge/ingest/server-calls.ts';
import { settleBounded } from '#edge/platform/bounded.ts';

/** People processed side by side: each is a chain of RPCs, so this bounds subrequests in flight. */
export const BATCH_CONCURRENCY = 16;

export interface BatchOutcome extends BatchResult {
  /** Indexes of calls whose reader could not be reached: the batch should be sent again. */
  failed: number[];
}

/** One person's calls, in batch order; consecutive track calls to the same reader go in one RPC. */
async function runGroup(env: Env, ws: EdgeWorkspace, group: PlannedCall[]): Promise<{ accepted: number; duplicates: number }> {
  const total = { accepted: 0, duplicates: 0 };
  const add = (r: { accepted: number; duplicates: number }) => {
    total.accepted += r.accepted;
    total.duplicates += r.duplicates;
  };
  let pending: { key: ReaderKey; events: AnyReaderEvent[] } | null = null;
  const flush = async () => {
    if (pending) add(await trackEvents(env, ws, pending.key, pending.events));
    pending = null;
  };
  for (const planned of group) {
    if (planned.type === 'identify') {
      await flush();
      add((await identifyReader(env, ws, planned.call)).result);
      continue;
    }
    const key = trackTarget(planned.call);
    if (pending && pending.key !== key) await flush();
    pending ??= { key, events: [] };
    pending.events.push(trackEvent(planned.call, planned.ts));
  }
  await flush();
  return total;
}

export async function serverBatch(env: Env, ws: EdgeWorkspace, request: Request): Promise<BatchOutcome> {
  const body = parseOr400(serverBatchSchema, await readJson(request, MAX_BATCH_BYTES), 'batch');
  if (body.batch.length > MAX_BATCH_CALLS) {
    throw new ClientError(413, `A batch holds at most ${MAX_BATCH_CALLS} calls`, [
      { path: 'batch', message: `has ${body.batch.length} calls; send at most ${MAX_BATCH_CALLS} per request` },
    ]);
  }
  const plan = planBatch(body.batch, Date.now());
  const outcome: BatchOutcome = { accepted: 0, duplicates: plan.duplicates, rejected: plan.rejected, failed: [] };
  await settleBounded(plan.groups, BATCH_CONCURRENCY, async (group) => {
    try {
      const result = await runGroup(env, ws, group);
      outcome.accepted += result.accepted;
      outcome.duplicates += result.duplicates;
    } catch (error) {
      // A reader object failing is not the caller's fault: say which calls, and let them retry.
      console.error(`batch for ${ws.id}: calls ${group.map((p) => p.index).join(',')} failed:`, error);
      outcome.failed.push(...group.map((p) => p.index));
    }
  });
  outcome.failed.sort((a, b) => a - b);
  return outcome;
}
