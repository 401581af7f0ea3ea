/**
 * Engaged time: milliseconds the page was visible. Pure accounting over timestamps so it is
 * tested without a browser; the tracker feeds it visibility changes and `performance.now()`.
 *
 * A lap timer: each call tells it whether the page is visible now and answers how long it was
 * visible since the previous call (or the start). The tracker calls it on every visibility change
 * and at the end of a read. Browsers fire visibilitychange only when the state changes, so a lap
 * that ends with the page becoming visible started hidden and is 0 ms: the tracker can drop it.
 */
export type EngagedClock = (visible: boolean, now: number) => number;

export function engagedClock(visible: boolean, now: number): EngagedClock {
  let since = visible ? now : -1; // -1: hidden
  return (show, t) => {
    const ms = since < 0 ? 0 : t - since;
    since = show ? t : -1;
    return Math.round(ms);
  };
}
