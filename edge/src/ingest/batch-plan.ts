/**
 * How a server batch is split before any reader is touched (pure: `now` is given): each call is
 * checked on its own with the single call's schema, a bad one is refused by index and field, a
 * messageId repeated within the batch counts once, and the good calls are grouped by the person
 * they name so one person's calls run in order while different people run side by side.
 */
import {
  type BatchRejection, type IdentifyCall, type TrackCall, batchCallTypeSchema, identifyCallSchema, trackCallSchema, trackTime,
} from '#shared/server-api.ts';
import { anonymousKey, emailKey, userKey } from '#edge/readers/names.ts';
import { issuesFrom } from '#edge/platform/errors.ts';

export type PlannedCall =
  | { index: number; type: 'identify'; call: IdentifyCall }
  | { index: number; type: 'track'; call: TrackCall; ts: number };

export interface BatchPlan {
  rejected: BatchRejection[];
  /** Calls whose messageId came earlier in the same batch: counted as duplicates, never sent. */
  duplicates: number;
  /** The good calls, grouped by person, each group in batch order. */
  groups: PlannedCall[][];
}

/** Who a call is about, for grouping: userId first (identify and track share it), then email, then anonymous id. */
function personOf(planned: PlannedCall): string {
  const { call } = planned;
  if (call.userId) return userKey(call.userId);
  if (planned.type === 'identify') return emailKey(String(planned.call.traits.email));
  return anonymousKey(planned.call.anonymousId!);
}

function check(item: unknown, index: number, now: number): PlannedCall | BatchRejection {
  if (typeof item !== 'object' || item === null || Array.isArray(item)) {
    return { index, issues: [{ path: '(call)', message: 'must be an object with "type": "identify" or "track"' }] };
  }
  const kind = batchCallTypeSchema.safeParse(item);
  if (!kind.success) return { index, issues: issuesFrom(kind.error) };
  if (kind.data.type === 'identify') {
    const call = identifyCallSchema.safeParse(item);
    return call.success ? { index, type: 'identify', call: call.data } : { index, issues: issuesFrom(call.error) };
  }
  const call = trackCallSchema.safeParse(item);
  if (!call.success) return { index, issues: issuesFrom(call.error) };
  const when = trackTime(call.data, now);
  return 'issue' in when ? { index, issues: [when.issue] } : { index, type: 'track', call: call.data, ts: when.ts };
}

export function planBatch(items: unknown[], now: number): BatchPlan {
  const rejected: BatchRejection[] = [];
  const seen = new Set<string>();
  const groups = new Map<string, PlannedCall[]>();
  let duplicates = 0;
  items.forEach((item, index) => {
    const planned = check(item, index, now);
    if (!('type' in planned)) {
      rejected.push(planned);
      return;
    }
    // Only a good call claims its messageId: a bad one before it must not hide a good repeat.
    const messageId = planned.call.messageId;
    if (messageId !== undefined) {
      if (seen.has(messageId)) {
        duplicates++;
        return;
      }
      seen.add(messageId);
    }
    const person = personOf(planned);
    const group = groups.get(person) ?? [];
    group.push(planned);
    groups.set(person, group);
  });
  return { rejected, duplicates, groups: [...groups.values()] };
}
