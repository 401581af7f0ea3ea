/**
 * Engaged time: milliseconds the page was visible. Pure accounting over timestamps so it is
 * tested without a browser; the tracker feeds it visibility changes and `performance.now()`.
 */
export interface EngagedClock {
  /** The page became visible or hidden (repeats are harmless). */
  set(visible: boolean, now: number): void;
  /** Visible time since the previous take (or start), then resets the tally. */
  take(now: number): number;
}

export function engagedClock(visible: boolean, now: number): EngagedClock {
  let since = visible ? now : -1; // -1: paused
  let total = 0;
  const clock: EngagedClock = {
    set(show, t) {
      if (since >= 0) total += t - since;
      since = show ? t : -1;
    },
    take(t) {
      clock.set(since >= 0, t);
      const ms = total;
      total = 0;
      return Math.round(ms);
    },
  };
  return clock;
}
