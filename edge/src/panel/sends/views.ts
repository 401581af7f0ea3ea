/** The send queue's rows as the panel reads them (`shared/panel-api.ts`). Pure. */
import { type ArmResult, WINNER_RULE } from '#shared/panel.ts';
import type { AbTestView, SendView, WelcomeView } from '#shared/panel-api.ts';
import { isRestSendKey } from './ab-test.ts';
import { tooLittleData, twoProportionZ } from './significance.ts';
import type { AbTestRow, SendRow, WelcomeRow } from './send-store.ts';

/** The draft id inside a send key made by `sendKey` (`b<broadcast>:<draft>:<variation>`). */
export const draftOf = (key: string): string | null => /^b\d+:([^:]+):/.exec(key)?.[1] ?? null;

export function sendView(row: SendRow, recipientsSent = row.status === 'sent' ? row.recipients : 0): SendView {
  return {
    key: row.key,
    draftId: row.abTest ? null : draftOf(row.key),
    broadcastId: row.broadcastId,
    mode: row.mode,
    variation: row.variation,
    segmentName: row.segmentName,
    recipients: row.recipients,
    status: row.status,
    attempts: row.attempts,
    triggerId: row.triggerId,
    error: row.error,
    nextAttemptAt: row.status === 'retrying' ? row.nextAt : null,
    abTest: row.abTest,
    createdAt: row.createdAt,
    sentAt: row.sentAt,
    audience: row.filter ? 'segment' : 'chunks',
    building: !row.built && !row.filter,
    chunks: row.chunks,
    chunksSent: row.chunksSent,
    recipientsSent,
  };
}

export function welcomeView(row: WelcomeRow): WelcomeView {
  return { kind: row.key.startsWith('confirm:') ? 'confirm' : 'welcome', email: row.email, status: row.status, attempts: row.attempts, deliveryId: row.deliveryId, error: row.error, createdAt: row.createdAt, sentAt: row.sentAt };
}

/** Confidence that this arm's human-open rate differs from the best other arm's (two-proportion z-test); null without data. */
function confidenceOf(arm: ArmResult, all: readonly ArmResult[]): number | null {
  const rate = (a: ArmResult) => (a.recipients ? a.humanOpens / a.recipients : -1);
  const others = all.filter((a) => a.arm !== arm.arm && a.recipients > 0).sort((a, b) => rate(b) - rate(a));
  const best = others[0];
  if (!best) return null;
  return twoProportionZ(arm.humanOpens, arm.recipients, best.humanOpens, best.recipients)?.confidence ?? null;
}

/** A test with its results (counted now while it runs, as decided once it is) and its sends. */
export function abTestView(row: AbTestRow, results: ArmResult[], sends: SendRow[]): AbTestView {
  const views = sends.map(sendView);
  return {
    id: row.id, name: row.name, segmentId: row.segmentId, broadcastId: row.broadcastId, mode: row.mode, testShare: row.testShare,
    arms: row.arms, status: row.status, winner: row.winner, rule: WINNER_RULE, results,
    confidence: results.map((r) => confidenceOf(r, results)),
    warning: tooLittleData(results),
    countedAt: row.countedAt,
    autoDecideAt: row.status === 'testing' && row.autoDecideMs !== null ? row.createdAt + row.autoDecideMs : null,
    rest: views.find((s) => isRestSendKey(s.key))?.recipients ?? null,
    sends: views, createdAt: row.createdAt, decidedAt: row.decidedAt,
  };
}
