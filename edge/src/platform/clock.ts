/**
 * The time, as one injectable thing. Pure modules take `now` as a parameter; objects read it from
 * their `clock`, which a workerd test replaces (`runInDurableObject(stub, (o) => { o.clock = … })`)
 * to step through retries, TTLs and alarms without waiting on real time.
 */
export interface Clock { now(): number }

export const systemClock: Clock = { now: () => Date.now() };

/** A clock a test moves by hand. */
export function manualClock(start = Date.now()): Clock & { advance(ms: number): void; set(at: number): void } {
  let at = start;
  return { now: () => at, advance: (ms) => { at += ms; }, set: (t) => { at = t; } };
}
