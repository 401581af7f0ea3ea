/**
 * The rules of an A/B test, pure. The segment's readers are ranked by a hash of the test and the
 * reader; the first `testedCount` in rank order go round-robin to the arms (an exact split, the
 * same however often it is made), the others wait for the winner.
 * An arm's result is what its recipients did with the test's own email (attribution.ts); the
 * winner is picked by WINNER_RULE (shared/panel.ts).
 */

/** One recipient of an arm (with its counters when the arm was sent; results come from attribution.ts). */
export interface Baseline { key: string; arm: number; opens: number; clicks: number }

/** A test started from a panel draft has one id per draft: a double click starts one test. */
export const abTestId = (draftId: string) => `ab_${draftId}`;

/** The sends of a test are keyed like this, so enqueueing an arm or the rest again finds it. */
export const armSendKey = (testId: string, arm: number) => `ab:${testId}:arm${arm}`;
export const restSendKey = (testId: string) => `ab:${testId}:rest`;
export const isRestSendKey = (key: string) => key.endsWith(':rest');

/** "A", "B", … as the panel names arms. */
export const armLetter = (arm: number) => String.fromCharCode(65 + arm);

/**
 * How many of a segment's `total` readers the arms get: `testShare` of them, rounded, but at least
 * one per arm when there are enough readers. The store splits them round-robin in rank order
 * (rank: a hash of test and reader), so arm sizes differ by at most one.
 */
export function testedCount(total: number, arms: number, testShare: number): number {
  return Math.min(total, Math.max(Math.min(total, arms), Math.round(total * testShare)));
}

/** The arm of the reader at `index` in rank order, or -1 for the rest. */
export const armAt = (index: number, arms: number, tested: number): number => (index < tested ? index % arms : -1);
