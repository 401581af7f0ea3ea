/**
 * The rules of an A/B test, pure. The segment's readers are ranked by a hash of the test and the
 * reader; the first `testedCount` in rank order go round-robin to the arms (an exact split, the
 * same however often it is made), the others wait for the winner.
 * Where each recipient's counters stood at the send is kept as a baseline; a result counts the
 * recipients whose human opens (clicks) grew since, and the winner is picked by WINNER_RULE.
 */
import { type ArmResult, type ReaderSummary, pickWinner } from '#shared/panel.ts';

/** One recipient of an arm and its counters when the arm was sent. */
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

/** Unique recipients per arm whose human opens (clicks) grew since the send. A reader not found now counts as zero. */
export function countResults(baselines: readonly Baseline[], current: ReadonlyMap<string, Pick<ReaderSummary, 'counters'>>, armCount: number): ArmResult[] {
  const results: ArmResult[] = Array.from({ length: armCount }, (_, arm) => ({ arm, recipients: 0, humanOpens: 0, clicks: 0 }));
  for (const b of baselines) {
    const result = results[b.arm]!;
    result.recipients++;
    const now = current.get(b.key);
    if ((now?.counters.opens ?? 0) > b.opens) result.humanOpens++;
    if ((now?.counters.clicks ?? 0) > b.clicks) result.clicks++;
  }
  return results;
}

/** The results and the winner by WINNER_RULE (null when no arm has recipients). */
export function decide(baselines: readonly Baseline[], current: ReadonlyMap<string, Pick<ReaderSummary, 'counters'>>, armCount: number): { results: ArmResult[]; winner: number | null } {
  const results = countResults(baselines, current, armCount);
  return { results, winner: pickWinner(results) };
}
