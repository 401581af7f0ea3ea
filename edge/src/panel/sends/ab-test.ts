/**
 * The rules of an A/B test, pure. Each reader of the segment falls in one arm or in "the rest" by a
 * hash of the test and the reader (`abArm`), so the split is the same however often it is made.
 * Where each recipient's counters stood at the send is kept as a baseline; a result counts the
 * recipients whose human opens (clicks) grew since, and the winner is picked by WINNER_RULE.
 */
import { type ArmResult, type ReaderSummary, abArm, pickWinner } from '#shared/panel.ts';

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

/** The segment's members split into arms (members in no arm are left out), with their baselines. */
export function assignArms(testId: string, members: readonly ReaderSummary[], armCount: number, testShare: number): { perArm: ReaderSummary[][]; baselines: Baseline[] } {
  const perArm: ReaderSummary[][] = Array.from({ length: armCount }, () => []);
  const baselines: Baseline[] = [];
  for (const reader of members) {
    const arm = abArm(testId, reader.key, armCount, testShare);
    if (arm < 0) continue;
    perArm[arm]!.push(reader);
    baselines.push({ key: reader.key, arm, opens: reader.counters.opens ?? 0, clicks: reader.counters.clicks ?? 0 });
  }
  return { perArm, baselines };
}

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

/** The segment's members who were in no arm: the winner's audience. */
export function restOf<T extends { key: string }>(members: readonly T[], baselines: readonly Baseline[]): T[] {
  const tested = new Set(baselines.map((b) => b.key));
  return members.filter((m) => !tested.has(m.key));
}
