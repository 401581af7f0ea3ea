/**
 * What one A/B recipient did with the test's own email, from the reader's email ledger
 * (shared/email/ledger.ts: per delivery, what the pixel, the links and the webhook saw). Only the
 * deliveries of the test's broadcast (the pixel's and links' campaign is the broadcast id) whose
 * activity is within the test's window count: an open of another campaign, or of this broadcast
 * before the arm went out, is not the arm's. Human and machine (proxy, scanner) apart. Pure.
 */
import type { EmailLedger } from '#shared/email/ledger.ts';

export interface Outcome { opened: boolean; clicked: boolean; openedMachine: boolean; clickedMachine: boolean }

export const NO_OUTCOME: Outcome = { opened: false, clicked: false, openedMachine: false, clickedMachine: false };

/** Slack before the recorded send time: Customer.io may deliver (and a reader open) moments before our clock records the trigger. */
export const SEND_SLACK_MS = 60_000;

export function outcomeOf(ledger: EmailLedger | undefined, broadcastId: number, since: number, until: number | null = null): Outcome {
  if (!ledger) return NO_OUTCOME;
  const campaign = String(broadcastId);
  const out = { ...NO_OUTCOME };
  for (const d of ledger.deliveries) {
    if (d.campaign !== campaign || d.at < since - SEND_SLACK_MS || (until !== null && d.at > until)) continue;
    const seen = (m: 'opens' | 'opens_machine' | 'clicks' | 'clicks_machine') => Math.max(d.edge[m], d.webhook[m]) > 0;
    out.opened ||= seen('opens');
    out.clicked ||= seen('clicks');
    out.openedMachine ||= seen('opens_machine');
    out.clickedMachine ||= seen('clicks_machine');
  }
  return out;
}
