// The send queue on a manual clock, for the workers tests. The clock (and the fake Customer.io's,
// through `/reset {clockOffsetMs}`) runs an hour ahead of real time: every alarm the queue sets is
// then an hour away in real time, so none fires behind the test's back, and the test runs each one
// with runDurableObjectAlarm after moving the clock. Real time still passes for what is real: the
// pacer's spacing of calls and the fake's own rate limits.
import { env, runDurableObjectAlarm, runInDurableObject } from 'cloudflare:test';
import { manualClock } from '#edge/platform/clock.ts';
import { sendQueueStub } from '#edge/platform/stubs.ts';

export const AHEAD_MS = 3_600_000;

export async function manualSendQueue(workspace: string) {
  const stub = sendQueueStub(env, workspace);
  const clock = manualClock(Date.now() + AHEAD_MS);
  await runInDurableObject(stub, (queue) => {
    queue.clock = clock;
  });
  return {
    stub,
    clock,
    /** Runs the queue's alarm now, whatever its time; false when none was set. */
    runAlarm: () => runDurableObjectAlarm(stub),
    /** When the queue asked to wake next (null: nothing pending). */
    alarmAt: () => runInDurableObject(stub, (_queue, state) => state.storage.getAlarm()),
    /** The clock reads the fake's time again: an attempt then carries a time the fake's trigger list compares with. */
    catchUp: () => clock.set(Date.now() + AHEAD_MS),
  };
}
