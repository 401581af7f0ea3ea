/**
 * Which queued send the alarm tries next, and when the queue must wake again. Customer.io takes one
 * trigger per broadcast per interval, so a broadcast send also waits for its broadcast's next
 * allowed time (kept per broadcast); a journey send goes through the outbox and waits for nothing
 * but its own retry time. Pure: `now` and the times are parameters.
 */

export interface Pending { mode: 'broadcast' | 'journey'; broadcastId: number; nextAt: number }

/** When a broadcast may be triggered again (0: now). */
export type BroadcastTimes = ReadonlyMap<number, number>;

const allowedAt = (row: Pending, broadcasts: BroadcastTimes) =>
  row.mode === 'journey' ? 0 : broadcasts.get(row.broadcastId) ?? 0;

/** The first due row (in the order given) whose broadcast may be triggered now; null when none. */
export function nextDue<T extends Pending>(due: readonly T[], broadcasts: BroadcastTimes, now: number): T | null {
  return due.find((row) => row.nextAt <= now && allowedAt(row, broadcasts) <= now) ?? null;
}

/** The earliest time anything pending may go: a send (its retry time and its broadcast's) or a welcome. Null when nothing is pending. */
export function wakeAt(pending: readonly Pending[], broadcasts: BroadcastTimes, welcomeAt: number | null): number | null {
  if (!pending.length && welcomeAt === null) return null;
  let at = welcomeAt ?? Infinity;
  for (const row of pending) at = Math.min(at, Math.max(row.nextAt, allowedAt(row, broadcasts)));
  return at;
}

/**
 * The alarm to set for a wake at `at`, or null to keep the one set. An alarm that already fires
 * sooner stays (it wakes and looks again); the alarm handler always sets the next one, since its own
 * has just fired. Never in the past.
 */
export function alarmFor(at: number, now: number, current: number | null, fromAlarm: boolean): number | null {
  if (fromAlarm || current === null || current > at) return Math.max(at, now);
  return null;
}
