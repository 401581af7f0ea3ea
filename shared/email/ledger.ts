/**
 * A reader's email ledger: what each delivery and campaign has seen, so opens and clicks are
 * counted once whether the pixel, the tracked link or Customer.io's reporting webhook reports them.
 *
 * Rule: per delivery (the delivery id ties a pixel hit to the webhook's event) and per class
 * (human open, machine open, human click, machine click), the count is the larger of what our
 * pixel/link saw and what the webhook said. So a webhook "opened" after the pixel already
 * counted that open adds nothing, and a second real open seen by the pixel still counts.
 * Without a delivery id, the campaign stands in for it. Pure; bounded in size.
 */

export type Via = 'edge' | 'webhook';
export type EmailMetric = 'opens' | 'opens_machine' | 'clicks' | 'clicks_machine';

interface Seen { opens: number; opens_machine: number; clicks: number; clicks_machine: number }

export interface DeliveryTally {
  delivery: string | null;
  campaign: string | null;
  at: number;
  edge: Seen;
  webhook: Seen;
}

export interface CampaignTally extends Seen { first: number; last: number }

export interface EmailLedger {
  deliveries: DeliveryTally[];
  campaigns: Record<string, CampaignTally>;
  bouncedAt: number | null;
  unsubscribedAt: number | null;
  spamAt: number | null;
}

export const MAX_DELIVERIES = 200;
export const MAX_CAMPAIGNS = 100;

const zero = (): Seen => ({ opens: 0, opens_machine: 0, clicks: 0, clicks_machine: 0 });

export const emptyLedger = (): EmailLedger => ({ deliveries: [], campaigns: {}, bouncedAt: null, unsubscribedAt: null, spamAt: null });

export interface Credit {
  /** How much the reader's counter for this metric grows (0 when already counted). */
  delta: number;
  /** This was the campaign's first human open: one more campaign opened ("unique opens"). */
  firstHumanOpenOfCampaign: boolean;
}

/** Where the entry this delivery (or campaign) is counted under sits in the ledger; -1: none yet. */
function tallyIndex(ledger: EmailLedger, delivery: string | null, campaign: string | null): number {
  const deliveries = ledger.deliveries;
  if (delivery) {
    const exact = deliveries.findIndex((d) => d.delivery === delivery);
    if (exact >= 0 || !campaign) return exact;
    // A pixel without a delivery id met this campaign first: the delivery id joins that entry.
    return deliveries.findIndex((d) => d.delivery === null && d.campaign === campaign);
  }
  if (!campaign) return -1;
  let latest = -1;
  deliveries.forEach((d, i) => { if (d.campaign === campaign && (latest < 0 || d.at > deliveries[latest]!.at)) latest = i; });
  return latest;
}

/**
 * A ledger `credit` may change without changing `ledger`: its lists are copied, their entries not
 * (credit replaces an entry it changes with a copy). A reader's ledger holds up to 200 deliveries,
 * so copying what an open touches is far cheaper than copying the ledger whole.
 */
export const ledgerToChange = (ledger: EmailLedger): EmailLedger => ({ ...ledger, deliveries: [...ledger.deliveries], campaigns: { ...ledger.campaigns } });

/**
 * Counts a hit once per delivery, whichever of the pixel/link (`edge`) and the webhook saw it.
 * Changes `ledger` (its lists), never one of its entries in place: a touched entry is replaced by
 * a changed copy, so a `ledgerToChange` copy can be credited and the original stays as it was.
 */
export function credit(ledger: EmailLedger, metric: EmailMetric, via: Via, at: number, delivery: string | null, campaign: string | null): Credit {
  const found = tallyIndex(ledger, delivery, campaign);
  let tally: DeliveryTally | undefined;
  if (found >= 0) {
    const before = ledger.deliveries[found]!;
    tally = { ...before, delivery: before.delivery ?? delivery, edge: { ...before.edge }, webhook: { ...before.webhook } };
    ledger.deliveries[found] = tally;
  } else if (delivery || campaign) {
    tally = { delivery, campaign, at, edge: zero(), webhook: zero() };
    ledger.deliveries.push(tally);
  }
  let delta = 1;
  if (tally) {
    if (!tally.campaign && campaign) tally.campaign = campaign;
    const before = Math.max(tally.edge[metric], tally.webhook[metric]);
    tally[via][metric]++;
    tally.at = Math.max(tally.at, at);
    delta = Math.max(tally.edge[metric], tally.webhook[metric]) - before;
  }
  const name = tally?.campaign ?? campaign;
  let firstHumanOpenOfCampaign = false;
  if (name && delta > 0) {
    const c = { ...(ledger.campaigns[name] ?? { ...zero(), first: at, last: at }) };
    ledger.campaigns[name] = c;
    firstHumanOpenOfCampaign = metric === 'opens' && c.opens === 0;
    c[metric] += delta;
    c.first = Math.min(c.first, at);
    c.last = Math.max(c.last, at);
  }
  trim(ledger);
  return { delta, firstHumanOpenOfCampaign };
}

function trim(ledger: EmailLedger): void {
  if (ledger.deliveries.length > MAX_DELIVERIES) {
    ledger.deliveries = ledger.deliveries.sort((a, b) => b.at - a.at).slice(0, MAX_DELIVERIES);
  }
  const names = Object.keys(ledger.campaigns);
  if (names.length > MAX_CAMPAIGNS) {
    const keep = new Set(names.sort((a, b) => ledger.campaigns[b]!.last - ledger.campaigns[a]!.last).slice(0, MAX_CAMPAIGNS));
    for (const name of names) if (!keep.has(name)) delete ledger.campaigns[name];
  }
}

/** The part of a ledger about one campaign: its deliveries and its tally (what a send's attribution reads). */
export function campaignPart(ledger: EmailLedger, campaign: string): EmailLedger {
  const tally = ledger.campaigns[campaign];
  return { ...ledger, deliveries: ledger.deliveries.filter((d) => d.campaign === campaign), campaigns: tally ? { [campaign]: tally } : {} };
}

/** Two readers become one (anonymous into known): keep both histories, newest first, bounded. */
export function mergeLedgers(into: EmailLedger | undefined, from: EmailLedger | undefined): EmailLedger | undefined {
  if (!from) return into;
  if (!into) return structuredClone(from);
  const merged: EmailLedger = structuredClone(into);
  merged.deliveries.push(...structuredClone(from.deliveries));
  for (const [name, c] of Object.entries(from.campaigns)) {
    const mine = merged.campaigns[name];
    merged.campaigns[name] = mine
      ? { opens: mine.opens + c.opens, opens_machine: mine.opens_machine + c.opens_machine, clicks: mine.clicks + c.clicks,
          clicks_machine: mine.clicks_machine + c.clicks_machine, first: Math.min(mine.first, c.first), last: Math.max(mine.last, c.last) }
      : { ...c };
  }
  merged.bouncedAt ??= from.bouncedAt;
  merged.unsubscribedAt ??= from.unsubscribedAt;
  merged.spamAt ??= from.spamAt;
  trim(merged);
  return merged;
}
