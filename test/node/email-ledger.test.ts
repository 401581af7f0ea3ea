import { describe, expect, it } from 'vitest';
import { MAX_DELIVERIES, campaignPart, credit, emptyLedger, mergeLedgers } from '#shared/email/ledger.ts';
import { applyEvent } from '#edge/readers/apply-event.ts';
import { emptyReader, readerFacts } from '#shared/reader.ts';
import { engagementScore } from '#shared/engagement.ts';

describe('email ledger', () => {
  it('counts an open once whether the pixel or the webhook reports it first', () => {
    const a = emptyLedger();
    expect(credit(a, 'opens', 'edge', 1, 'd1', 'c1')).toEqual({ delta: 1, firstHumanOpenOfCampaign: true });
    expect(credit(a, 'opens', 'webhook', 2, 'd1', 'c1').delta).toBe(0);
    expect(credit(a, 'opens', 'edge', 3, 'd1', 'c1')).toEqual({ delta: 1, firstHumanOpenOfCampaign: false }); // a real second open
    const b = emptyLedger();
    expect(credit(b, 'opens', 'webhook', 1, 'd1', 'c1').delta).toBe(1);
    expect(credit(b, 'opens', 'edge', 2, 'd1', 'c1').delta).toBe(0);
    expect(b.campaigns.c1).toMatchObject({ opens: 1 });
  });

  it('gives the part of a ledger about one campaign: its deliveries and its tally, the flags kept', () => {
    const l = emptyLedger();
    credit(l, 'opens', 'edge', 1, 'd1', 'c1');
    credit(l, 'clicks', 'edge', 2, 'd2', 'c2');
    credit(l, 'opens', 'edge', 3, 'd3', 'c1');
    l.bouncedAt = 4;
    const part = campaignPart(l, 'c1');
    expect(part.deliveries.map((d) => d.delivery)).toEqual(['d1', 'd3']);
    expect(Object.keys(part.campaigns)).toEqual(['c1']);
    expect(part.bouncedAt).toBe(4);
    expect(campaignPart(l, 'c9')).toMatchObject({ deliveries: [], campaigns: {} });
  });

  it('ties a pixel without a delivery id to the webhook through the campaign', () => {
    const l = emptyLedger();
    expect(credit(l, 'clicks', 'edge', 1, null, 'c9').delta).toBe(1);
    expect(credit(l, 'clicks', 'webhook', 2, 'd9', 'c9').delta).toBe(0);
    expect(l.deliveries[0]!.delivery).toBe('d9');
    expect(credit(l, 'clicks', 'webhook', 3, 'other', 'c8').delta).toBe(1);
  });

  it('keeps human and machine classes apart and counts without any id', () => {
    const l = emptyLedger();
    expect(credit(l, 'opens_machine', 'edge', 1, 'd1', 'c1').delta).toBe(1);
    expect(credit(l, 'opens', 'edge', 2, 'd1', 'c1')).toEqual({ delta: 1, firstHumanOpenOfCampaign: true });
    expect(credit(l, 'opens', 'edge', 3, null, null).delta).toBe(1);
  });

  it('stays bounded and merges two readers', () => {
    const l = emptyLedger();
    for (let i = 0; i < MAX_DELIVERIES + 50; i++) credit(l, 'opens', 'edge', i, `d${i}`, `c${i}`);
    expect(l.deliveries.length).toBe(MAX_DELIVERIES);
    expect(Object.keys(l.campaigns).length).toBeLessThanOrEqual(100);
    const other = emptyLedger();
    credit(other, 'opens', 'edge', 5, 'x', 'c249');
    other.bouncedAt = 7;
    const merged = mergeLedgers(l, other)!;
    expect(merged.campaigns.c249!.opens).toBe(2);
    expect(merged.bouncedAt).toBe(7);
    expect(mergeLedgers(undefined, undefined)).toBeUndefined();
  });
});

describe('applyEvent with email events', () => {
  const now = Date.now();
  it('feeds human opens into the score and facts, machine opens only into their own counters', () => {
    let r = emptyReader('e:a@x.com');
    r = applyEvent(r, { type: 'open', id: 'o1', ts: now, human: false, kind: 'apple_mpp', campaign: '1', delivery: 'd1' }).state;
    expect(engagementScore(r.activity, now)).toBe(0);
    expect(r.counters).toMatchObject({ opens_machine: 1, 'opens_machine.apple_mpp': 1 });
    r = applyEvent(r, { type: 'open', id: 'o2', ts: now, human: true, campaign: '1', delivery: 'd1' }).state;
    r = applyEvent(r, { type: 'click', id: 'c1', ts: now, human: true, category: 'crypto', campaign: '1', delivery: 'd1' }).state;
    r = applyEvent(r, { type: 'click', id: 'c2', ts: now, human: true, category: 'crypto', campaign: '1', delivery: 'd1', via: 'webhook' }).state;
    expect(r.counters).toMatchObject({ opens: 1, opens_unique: 1, clicks: 1, 'clicks.crypto': 1 });
    expect(engagementScore(r.activity, now)).toBeGreaterThan(0);
    const facts = readerFacts(r, now);
    expect(facts.opens).toBe(1);
    expect(facts.opens_unique).toBe(1);
  });

  it('marks bounces and unsubscribes without making the reader "seen"', () => {
    let r = emptyReader('e:a@x.com');
    r = applyEvent(r, { type: 'email', id: 'b1', ts: now, metric: 'bounced' }).state;
    r = applyEvent(r, { type: 'email', id: 'u1', ts: now, metric: 'unsubscribed' }).state;
    expect(r.counters).toMatchObject({ bounces: 1, unsubscribes: 1 });
    expect(r.emailLedger).toMatchObject({ bouncedAt: now, unsubscribedAt: now });
    expect(r.lastSeen).toBeNull();
    expect(readerFacts(r, now)).toMatchObject({ bounces: 1, unsubscribes: 1 });
  });
});
