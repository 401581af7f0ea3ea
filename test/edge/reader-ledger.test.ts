// A reader's email ledger stays in its state while small and becomes rows of its own (a delivery, a
// campaign each) once it outgrows it, read and written a few at a time per hit: what it counts must
// be what the pure ledger (shared/email/ledger.ts) counts over the same hits, past its bounds too,
// and a row stored with a large ledger in its state must carry on where it left off.
import { abortAllDurableObjects, env, runInDurableObject } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { createWorkspace } from './helpers.ts';
import { readerStub } from '#edge/platform/stubs.ts';
import type { ReaderKey } from '#edge/readers/names.ts';
import { type EdgeEvent, absorbReader, applyEvent } from '#edge/readers/apply-event.ts';
import { emptyReader } from '#shared/reader.ts';
import { type EmailLedger, MAX_CAMPAIGNS, MAX_DELIVERIES, campaignPart } from '#shared/email/ledger.ts';

const T0 = Date.UTC(2026, 10, 1);
const context = (workspace: string, key: ReaderKey) => ({
  workspace, key, tagRules: [], rulesVersion: 'none', attributePrefix: 'sharpsend_', shards: 4, forwardPageViews: false, doubleOptIn: null,
});

/** A known reader as the pure rules leave it after `events`, from the same start the object makes. */
function pure(key: string, events: EdgeEvent[]) {
  let state = emptyReader(key);
  state.email = key.slice(2);
  for (const event of events) state = applyEvent(state, event, { pageViews: false }).state;
  return state;
}

/** A ledger in an order of its own (the object keeps its rows by when they were written). */
const sorted = (ledger: EmailLedger | undefined) => ledger && {
  ...ledger,
  deliveries: [...ledger.deliveries].sort((a, b) => a.at - b.at || String(a.delivery).localeCompare(String(b.delivery))),
  campaigns: Object.fromEntries(Object.entries(ledger.campaigns).sort(([a], [b]) => a.localeCompare(b))),
};

/**
 * Hits as a long-time subscriber makes them: a new delivery each time mostly, of 130 campaigns (past
 * the bound of 100), some opened again, by the pixel and the webhook, by people and by machines,
 * some pixels without a delivery id, some clicks. Every hit one minute after the last.
 */
function hits(count: number): EdgeEvent[] {
  const out: EdgeEvent[] = [];
  let n = 0;
  for (let i = 0; i < count; i++) {
    const ts = T0 + i * 60_000;
    const id = `hit-${i}`;
    const kind = i % 11;
    if (kind === 3 && n > 0) {
      // The webhook reports an open the pixel counted already: nothing more.
      out.push({ type: 'open', id, ts, human: true, campaign: `c${(n - 1) % 130}`, delivery: `d${n - 1}`, via: 'webhook' });
    } else if (kind === 5 && n > 0) {
      out.push({ type: 'click', id, ts, human: true, campaign: `c${(n - 1) % 130}`, delivery: `d${n - 1}`, category: 'news', fresh: true });
    } else if (kind === 7) {
      // A pixel without a delivery id (the template left it out): the campaign stands in for it.
      out.push({ type: 'open', id, ts, human: true, campaign: `c${n % 130}`, fresh: true });
    } else if (kind === 9 && n > 2) {
      // A machine open of an older delivery (a proxy fetching it again).
      out.push({ type: 'open', id, ts, human: false, kind: 'proxy', campaign: `c${(n - 3) % 130}`, delivery: `d${n - 3}`, fresh: true });
    } else {
      out.push({ type: 'open', id, ts, human: true, campaign: `c${n % 130}`, delivery: `d${n}`, fresh: true });
      n++;
    }
  }
  return out;
}

describe('the email ledger in rows', () => {
  it('counts what the pure ledger counts over 400 hits, past both bounds, in rows that stay within them', async () => {
    const ws = await createWorkspace();
    const key = 'e:ledger-rows@example.com' as ReaderKey;
    const stub = readerStub(env, ws.id, key);
    const events = hits(400);
    for (let i = 0; i < events.length; i += 20) await stub.ingest(context(ws.id, key), events.slice(i, i + 20));
    const expected = pure(key, events);
    const view = (await stub.view())!;
    expect(view.counters).toEqual(expected.counters);
    expect(view.counters.opens_unique).toBeGreaterThan(100);
    expect(sorted(view.emailLedger)).toEqual(sorted(expected.emailLedger));
    expect(view.emailLedger!.deliveries).toHaveLength(MAX_DELIVERIES);
    expect(Object.keys(view.emailLedger!.campaigns)).toHaveLength(MAX_CAMPAIGNS);
    // A send's attribution reads one campaign's part, from the rows.
    for (const campaign of ['c1', 'c129', 'c-none']) {
      expect(sorted((await stub.campaignLedger(campaign))!)).toEqual(sorted(campaignPart(expected.emailLedger!, campaign)));
    }
    expect((await stub.campaignLedger('c129'))!.deliveries.length).toBeGreaterThan(0);

    const stored = await runInDurableObject(stub, (_o, state) => {
      const sql = state.storage.sql;
      return {
        deliveries: sql.exec<{ n: number }>('SELECT COUNT(*) AS n FROM ledger_deliveries').one().n,
        campaigns: sql.exec<{ n: number }>('SELECT COUNT(*) AS n FROM ledger_campaigns').one().n,
        state: JSON.parse(sql.exec<{ state: string }>('SELECT state FROM reader').one().state) as { emailLedger: EmailLedger },
      };
    });
    expect([stored.deliveries, stored.campaigns]).toEqual([MAX_DELIVERIES, MAX_CAMPAIGNS]);
    // The row holds the flags only: an open writes a few hundred bytes, not the ledger.
    expect(stored.state.emailLedger).toEqual({ deliveries: [], campaigns: {}, bouncedAt: null, unsubscribedAt: null, spamAt: null });

    // After a restart (the bounds counted afresh), the next hits still agree.
    await abortAllDurableObjects();
    const more = hits(430).slice(400);
    await readerStub(env, ws.id, key).ingest(context(ws.id, key), more);
    const after = (await readerStub(env, ws.id, key).view())!;
    const all = pure(key, [...events, ...more]);
    expect(after.counters).toEqual(all.counters);
    expect(sorted(after.emailLedger)).toEqual(sorted(all.emailLedger));
  });

  it('keeps a small ledger in the state, with no table for it, and moves it to rows as it outgrows it', async () => {
    const ws = await createWorkspace();
    const key = 'e:ledger-small@example.com' as ReaderKey;
    const stub = readerStub(env, ws.id, key);
    const events = hits(26); // some 20 deliveries, under the 24 a state keeps
    await stub.ingest(context(ws.id, key), events);
    const tables = () => runInDurableObject(stub, (_o, state) => state.storage.sql
      .exec<{ name: string }>("SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE 'ledger%'").toArray().map((t) => t.name).sort());
    const inState = () => runInDurableObject(stub, (_o, state) => (JSON.parse(state.storage.sql.exec<{ state: string }>('SELECT state FROM reader').one().state) as { emailLedger: EmailLedger }).emailLedger);
    expect(await tables()).toEqual([]);
    expect(sorted(await inState())).toEqual(sorted(pure(key, events).emailLedger));
    expect(await stub.campaignLedger('c2')).toEqual(campaignPart(pure(key, events).emailLedger!, 'c2'));
    const more = hits(40);
    await stub.ingest(context(ws.id, key), more.slice(26));
    expect(await tables()).toEqual(['ledger_campaigns', 'ledger_deliveries']);
    expect((await inState()).deliveries).toEqual([]);
    expect(sorted((await stub.view())!.emailLedger)).toEqual(sorted(pure(key, more).emailLedger));
  });

  it('moves a large ledger that a row stored before holds in its state into rows, and counts on from it', async () => {
    const ws = await createWorkspace();
    const key = 'e:ledger-old-row@example.com' as ReaderKey;
    let stub = readerStub(env, ws.id, key);
    const first = hits(60);
    await stub.ingest(context(ws.id, key), first);
    // The row as an object stored it before: the whole ledger inside the state's JSON.
    const whole = (await stub.view())!.emailLedger!;
    expect(whole.deliveries.length).toBeGreaterThan(30);
    await runInDurableObject(stub, (_o, state) => {
      const sql = state.storage.sql;
      const row = sql.exec<{ state: string; meta: string }>('SELECT state, meta FROM reader').one();
      const { ledgerInRows, ...meta } = JSON.parse(row.meta);
      expect(ledgerInRows).toBe(true);
      sql.exec('UPDATE reader SET state = ?, meta = ?', JSON.stringify({ ...JSON.parse(row.state), emailLedger: whole }), JSON.stringify(meta));
      sql.exec('DROP TABLE ledger_deliveries');
      sql.exec('DROP TABLE ledger_campaigns');
    });
    await abortAllDurableObjects();
    stub = readerStub(env, ws.id, key);
    // The webhook's report of an open the pixel counted before the move adds nothing.
    const last = first.findLast((e) => e.type === 'open' && e.human && e.delivery !== undefined)!;
    const later: EdgeEvent[] = [
      { type: 'open', id: 'old-row-webhook', ts: T0 + 61 * 60_000, human: true, campaign: last.campaign!, delivery: last.delivery!, via: 'webhook' },
      { type: 'open', id: 'old-row-new', ts: T0 + 62 * 60_000, human: true, campaign: 'c-new', delivery: 'd-new', fresh: true },
    ];
    await stub.ingest(context(ws.id, key), later);
    const view = (await stub.view())!;
    const expected = pure(key, [...first, ...later]);
    expect(view.counters).toEqual(expected.counters);
    expect(sorted(view.emailLedger)).toEqual(sorted(expected.emailLedger));
    const row = await runInDurableObject(stub, (_o, state) => JSON.parse(state.storage.sql.exec<{ state: string }>('SELECT state FROM reader').one().state));
    expect(row.emailLedger.deliveries).toEqual([]);
  });

  it('carries a large ledger whole through a merge, and the reader merged away keeps no rows', async () => {
    const ws = await createWorkspace();
    const from = 'e:ledger-merged@example.com' as ReaderKey;
    const into = 'u:ledger-merged-user' as ReaderKey;
    const fromHits = hits(70);
    // The other person's own history: other deliveries (their ids and times apart).
    const intoHits = hits(50).map((e, i) => ({ ...e, id: `into-${i}`, ts: e.ts + 30_000, ...(e.delivery ? { delivery: `u${e.delivery}` } : {}) }) as EdgeEvent);
    await readerStub(env, ws.id, from).ingest(context(ws.id, from), fromHits);
    await readerStub(env, ws.id, into).ingest({ ...context(ws.id, into) }, intoHits);
    await readerStub(env, ws.id, from).linkTo(context(ws.id, from), into);

    const intoPure = { ...pure(into, intoHits), email: null, userId: 'ledger-merged-user' };
    const expected = absorbReader(intoPure, pure(from, fromHits));
    const merged = (await readerStub(env, ws.id, into).view())!;
    expect(merged.counters).toEqual(expected.counters);
    expect(merged.emailLedger!.deliveries.length).toBeGreaterThan(60);
    expect(sorted(merged.emailLedger)).toEqual(sorted(expected.emailLedger));
    const left = await runInDurableObject(readerStub(env, ws.id, from), (_o, state) => state.storage.sql.exec<{ n: number }>('SELECT COUNT(*) AS n FROM ledger_deliveries').one().n);
    expect(left).toBe(0);
  });
});
