import { describe, expect, it } from 'vitest';
import { type AnyReaderEvent, MAX_EVENT_NAME_BYTES, absorbReader, applyEvent, pageViewName } from '#edge/readers/apply-event.ts';
import { emptyReader, preferredContent, readerFacts, DAY_MS } from '#shared/reader.ts';
import { ATTRIBUTE_CAPS, ATTRIBUTE_LIMIT, personIdentifiers, readerAttributes, sameIdentifiers } from '#edge/customerio/attributes.ts';
import { shardOf } from '#edge/readers/names.ts';

const T0 = Date.UTC(2026, 10, 20, 12);
const page = (ts: number, category: string, engagedMs = 120_000) =>
  ({ type: 'page', id: `p${ts}${category}`, anonymousId: 'anon-00001', ts, url: `https://n.example/${category}/${ts}`, category, engagedMs, scrollDepth: 1 }) as const;

describe('how events change a reader', () => {
  it('counts reads and engaged time in total and per category, and active days', () => {
    let r = emptyReader('a:anon-00001');
    for (const e of [page(T0, 'crypto'), page(T0 + 1000, 'crypto'), page(T0 + DAY_MS, 'stocks', 30_000)]) r = applyEvent(r, e).state;
    expect(r.counters).toEqual({ reads: 3, engaged_ms: 270_000, 'reads.crypto': 2, 'engaged_ms.crypto': 240_000, 'reads.stocks': 1, 'engaged_ms.stocks': 30_000 });
    expect(r.activeDays).toHaveLength(2);
    expect(r.firstSeen).toBe(T0);
    expect(r.lastSeen).toBe(T0 + DAY_MS);
    expect(preferredContent(r)).toBe('crypto');
    const facts = readerFacts(r, T0 + DAY_MS);
    expect(facts['read_share.crypto']).toBeCloseTo(2 / 3);
    expect(facts.active_days_30).toBe(2);
    expect(facts.engaged_minutes).toBe(4);
  });

  it('never changes the reader it is given, down to its email ledger (each event copies only what it changes)', () => {
    let r = emptyReader('e:a@b.co');
    const open = (id: string, delivery: string | undefined, campaign: string, human = true) => ({ type: 'open', id, ts: T0 + 5, human, delivery, campaign }) as const;
    for (const e of [page(T0, 'crypto'), open('o1', 'd1', 'c1'), open('o2', undefined, 'c2'), open('o3', 'd3', 'c3', false)]) r = applyEvent(r, e).state;
    const deepFreeze = (o: unknown): void => { if (o && typeof o === 'object' && !Object.isFrozen(o)) { Object.freeze(o); Object.values(o).forEach(deepFreeze); } };
    const before = JSON.parse(JSON.stringify(r));
    deepFreeze(r);
    const events = [
      page(T0 + 1000, 'crypto'), page(T0 + DAY_MS, 'stocks'),
      { type: 'preferences', id: 'pick-f', anonymousId: 'anon-00001', ts: T0 + 6, topics: ['stocks'] },
      { type: 'signup', id: 'sign-f', anonymousId: 'anon-00001', ts: T0 + 7, email: 'a@b.co', topics: ['options'], consent: true },
      open('o1-again', 'd1', 'c1'), open('o2-delivery', 'd2', 'c2'), open('o4', 'd4', 'c4'),
      { type: 'click', id: 'k1', ts: T0 + 8, human: true, category: 'crypto', delivery: 'd1', campaign: 'c1' },
      { type: 'email', id: 'b1', ts: T0 + 9, metric: 'bounced' }, { type: 'email', id: 's1', ts: T0 + 9, metric: 'sent', delivery: 'd5', campaign: 'c5' },
    ] satisfies AnyReaderEvent[];
    for (const e of events) {
      const after = applyEvent(r, e).state;
      expect(after).not.toEqual(before);
    }
    expect(r).toEqual(before);
    // The copies still count as the ledger says: the webhook's report of an open the pixel saw adds nothing.
    const reported = applyEvent(r, { ...open('o1-webhook', 'd1', 'c1'), via: 'webhook' }).state;
    expect(reported.counters.opens).toBe(r.counters.opens);
    expect(reported.emailLedger!.deliveries.find((d) => d.delivery === 'd1')!.webhook.opens).toBe(1);
    expect(applyEvent(r, open('o2-delivery', 'd2', 'c2')).state.emailLedger!.deliveries.filter((d) => d.campaign === 'c2')).toHaveLength(1);
  });

  it('makes a read a page-view moment only when asked to, counting it alike either way', () => {
    const read = page(T0, 'crypto');
    const asked = applyEvent(emptyReader('e:a@b.co'), read);
    const left = applyEvent(emptyReader('e:a@b.co'), read, { pageViews: false });
    expect(asked.moments).toEqual([expect.objectContaining({ kind: 'page', name: `/crypto/${T0}` })]);
    expect(left.moments).toEqual([]);
    expect(left.state).toEqual(asked.state);
  });

  it('records picks, a sign-up once, and the moments worth sending', () => {
    let r = emptyReader('e:a@b.co');
    const pick = applyEvent(r, { type: 'preferences', id: 'pick-0001', anonymousId: 'anon-00001', ts: T0, topics: ['options', 'crypto', 'crypto'] });
    r = pick.state;
    expect(r.topics).toEqual(['crypto', 'options']);
    expect(pick.moments.map((m) => m.name)).toEqual(['preferences_changed']);
    const same = applyEvent(r, { type: 'preferences', id: 'pick-0002', anonymousId: 'anon-00001', ts: T0 + 1, topics: ['crypto', 'options'] });
    expect(same.moments).toEqual([]);
    expect(same.state.counters.picks).toBe(2);
    const signup = applyEvent(r, { type: 'signup', id: 'sign-0001', anonymousId: 'anon-00001', ts: T0 + 2, email: 'A@B.co', topics: ['stocks'], consent: true });
    expect(signup.state.email).toBe('a@b.co');
    expect(signup.state.signedUpAt).toBe(T0 + 2);
    expect(signup.state.topics).toEqual(['crypto', 'options', 'stocks']);
    expect(signup.moments.map((m) => m.name)).toEqual(['signed_up']);
    const again = applyEvent(signup.state, { type: 'signup', id: 'sign-0002', anonymousId: 'anon-00001', ts: T0 + 3, email: 'a@b.co', topics: [], consent: true });
    expect(again.state.signedUpAt).toBe(T0 + 2);
    expect(again.moments).toEqual([]);
  });

  it('keeps human and machine opens and clicks apart; only human ones raise the score', () => {
    let r = emptyReader('e:a@b.co');
    r = applyEvent(r, { type: 'open', id: 'o1-000000', ts: T0, human: false }).state;
    expect(r.activity.value).toBe(0);
    r = applyEvent(r, { type: 'open', id: 'o2-000000', ts: T0, human: true }).state;
    r = applyEvent(r, { type: 'click', id: 'c1-000000', ts: T0, human: true, category: 'crypto' }).state;
    expect(r.counters).toMatchObject({ opens: 1, opens_machine: 1, clicks: 1, 'clicks.crypto': 1 });
    expect(r.activity.value).toBe(3);
  });

  it('absorbs an anonymous reader: counters add up, history and ids move over', () => {
    let anon = emptyReader('a:anon-00001');
    anon.anonymousIds = ['anon-00001'];
    anon = applyEvent(anon, page(T0 - DAY_MS, 'crypto')).state;
    let known = emptyReader('e:a@b.co');
    known.email = 'a@b.co';
    known = applyEvent(known, page(T0, 'crypto')).state;
    const merged = absorbReader(known, anon);
    expect(merged.counters.reads).toBe(2);
    expect(merged.counters['reads.crypto']).toBe(2);
    expect(merged.anonymousIds).toEqual(['anon-00001']);
    expect(merged.firstSeen).toBe(T0 - DAY_MS);
    expect(merged.activeDays).toHaveLength(2);
    expect(merged.email).toBe('a@b.co');
  });
});

describe('what Customer.io receives for a reader', () => {
  it('identifies by userId when the backend gave one, else by email', () => {
    expect(personIdentifiers({ email: 'a@b.co', userId: null })).toEqual({ email: 'a@b.co' });
    expect(personIdentifiers({ email: 'a@b.co', userId: 'u-1' })).toEqual({ id: 'u-1' });
    expect(personIdentifiers({ email: null, userId: null })).toBeNull();
  });

  it('tells the same person by the same kind of identifier and value only (a sync hands over without an ack only then)', () => {
    expect(sameIdentifiers({ id: 'u-1' }, { id: 'u-1' })).toBe(true);
    expect(sameIdentifiers({ email: 'a@b.co' }, { email: 'a@b.co' })).toBe(true);
    expect(sameIdentifiers({ id: 'u-1' }, { id: 'u-2' })).toBe(false);
    expect(sameIdentifiers({ id: 'a@b.co' }, { email: 'a@b.co' })).toBe(false);
    expect(sameIdentifiers({ email: 'a@b.co' }, { id: 'email:a@b.co' })).toBe(false);
    expect(sameIdentifiers({ id: 'u-1' }, null)).toBe(false);
    expect(sameIdentifiers(null, null)).toBe(false);
  });

  it('writes prefixed tags, lost tags as false, counters, Unix-second times and traits', () => {
    let r = emptyReader('e:a@b.co');
    r.email = 'a@b.co';
    r.traits = { tier: 'premium' };
    r = applyEvent(r, page(T0, 'crypto')).state;
    const { attributes: attrs, omitted } = readerAttributes(r, ['crypto_enthusiast'], ['crypto_enthusiast', 'high_engagement'], 'ss_', T0);
    expect(omitted).toBeNull();
    expect(attrs).toMatchObject({
      email: 'a@b.co',
      ss_tags: ['crypto_enthusiast'],
      ss_tag_crypto_enthusiast: true,
      ss_tag_high_engagement: false,
      ss_reads: 1,
      ss_reads_crypto: 1,
      ss_engaged_minutes: 2,
      ss_engaged_minutes_crypto: 2,
      ss_preferred_content: 'crypto',
      ss_last_seen_at: Math.floor(T0 / 1000),
      tier: 'premium',
    });
    expect(attrs.ss_engagement_score).toBeGreaterThan(0);
  });

  it('writes a pending sign-up as unconfirmed and a confirmed one with its time (double opt-in), nothing otherwise', () => {
    const r = { ...emptyReader('e:a@b.co'), email: 'a@b.co' };
    const attrs = (over: Partial<typeof r>) => readerAttributes({ ...r, ...over }, [], [], 'ss_', T0).attributes;
    expect(attrs({ pendingSince: T0 })).toMatchObject({ ss_confirmed: false, ss_pending_since: Math.floor(T0 / 1000) });
    expect(attrs({ pendingSince: T0 })).not.toHaveProperty('ss_confirmed_at');
    const confirmed = attrs({ pendingSince: null, confirmedAt: T0 + 5_000 });
    expect(confirmed).toMatchObject({ ss_confirmed: true, ss_confirmed_at: Math.floor((T0 + 5_000) / 1000) });
    expect(confirmed).not.toHaveProperty('ss_pending_since');
    expect(Object.keys(attrs({})).filter((k) => /confirmed|pending/.test(k))).toEqual([]);
  });

  it('has the fact pending_confirmation only while a sign-up waits for its confirmation', () => {
    const r = { ...emptyReader('e:a@b.co'), email: 'a@b.co' };
    expect(readerFacts({ ...r, pendingSince: T0 }, T0).pending_confirmation).toBe(true);
    expect(readerFacts({ ...r, pendingSince: null, confirmedAt: T0 }, T0)).not.toHaveProperty('pending_confirmation');
    expect(readerFacts(r, T0)).not.toHaveProperty('pending_confirmation');
  });

  it('keeps a confirmation through a merge, but not a pending sign-up', () => {
    const into = emptyReader('e:a@b.co');
    expect(absorbReader(into, { ...emptyReader('e:x@b.co'), confirmedAt: T0 }).confirmedAt).toBe(T0);
    expect(absorbReader(into, { ...emptyReader('e:x@b.co'), pendingSince: T0 }).pendingSince ?? null).toBeNull();
  });
});

describe('shards', () => {
  it('spreads reader keys evenly and stably', () => {
    const counts = [0, 0, 0, 0];
    for (let i = 0; i < 4000; i++) counts[shardOf(`e:reader${i}@example.com`, 4)]!++;
    for (const n of counts) expect(n).toBeGreaterThan(800);
    expect(shardOf('e:x@y.z', 4)).toBe(shardOf('e:x@y.z', 4));
  });
});

describe('a reader coming back to the same tab', () => {
  it('adds engaged time to the read instead of counting another one, within 30 minutes', () => {
    let r = emptyReader('a:anon-00001');
    const at = (ts: number, url = 'https://n.example/a') => ({ ...page(ts, 'crypto', 60_000), id: `p${ts}${url}`, url });
    r = applyEvent(r, at(T0)).state;
    r = applyEvent(r, at(T0 + 10 * 60_000)).state;
    expect(r.counters).toMatchObject({ reads: 1, 'reads.crypto': 1, engaged_ms: 120_000, 'engaged_ms.crypto': 120_000 });
    r = applyEvent(r, at(T0 + 11 * 60_000, 'https://n.example/b')).state;
    r = applyEvent(r, at(T0 + 60 * 60_000, 'https://n.example/b')).state;
    expect(r.counters.reads).toBe(3);
  });
});

describe('page view names (Customer.io: event names up to 100 bytes)', () => {
  it('names a page view by its path and keeps the full URL as an attribute', () => {
    const url = 'https://n.example/markets/crypto/why-bitcoin-fell?utm_source=newsletter&utm_campaign=42#comments';
    const { moments } = applyEvent(emptyReader('e:a@b.example'), { ...page(T0, 'crypto'), url });
    expect(moments[0]!.name).toBe('/markets/crypto/why-bitcoin-fell');
    expect(moments[0]!.data.url).toBe(url);
  });

  it('cuts a long path to 100 bytes without splitting a character', () => {
    const long = `https://n.example/${'é'.repeat(80)}`;
    const name = pageViewName(long);
    const bytes = new TextEncoder().encode(name).byteLength;
    expect(bytes).toBeLessThanOrEqual(MAX_EVENT_NAME_BYTES);
    expect(bytes).toBeGreaterThan(MAX_EVENT_NAME_BYTES - 2);
    expect(name).not.toContain('\uFFFD');
    expect(name.startsWith('/é')).toBe(true);
  });

  it('keeps a short path whole and reads a URL it cannot parse as text', () => {
    expect(pageViewName('https://n.example/')).toBe('/');
    expect(pageViewName('not a url')).toBe('not a url');
  });
});

describe('attributes under Customer.io\'s 300 per identify', () => {
  it('bounds a reader with many categories, tags and traits, keeping the most recently read categories', () => {
    let r = emptyReader('e:wide@b.co');
    r.email = 'wide@b.co';
    // 120 categories read over 120 minutes (cat119 is the newest), 150 tags, 200 traits.
    for (let i = 0; i < 120; i++) r = applyEvent(r, { ...page(T0 + i * 60_000, `cat${i}`), id: `p${i}` }).state;
    r.traits = Object.fromEntries(Array.from({ length: 200 }, (_, i) => [`trait_${String(i).padStart(3, '0')}`, i]));
    const tags = Array.from({ length: 100 }, (_, i) => `tag${i}`);
    const ever = [...tags, ...Array.from({ length: 50 }, (_, i) => `old${i}`)];
    const { attributes, omitted } = readerAttributes(r, tags, ever, 'ss_', T0 + 3 * 3_600_000, { ptoken: 'x' });
    expect(Object.keys(attributes).length).toBeLessThanOrEqual(ATTRIBUTE_LIMIT - 1); // room for the token attribute
    expect(attributes.ss_reads_cat119).toBe(1);
    expect(attributes.ss_reads_cat0).toBeUndefined();
    expect(attributes[`ss_reads_cat${120 - ATTRIBUTE_CAPS.categories}`]).toBe(1);
    expect(attributes.ss_tag_tag0).toBe(true);
    expect(attributes.ss_tag_old0).toBeUndefined();
    expect(attributes.ss_ptoken).toBe('x');
    expect(attributes.trait_000).toBe(0);
    expect(omitted).toEqual({ categories: 120 - ATTRIBUTE_CAPS.categories, tagFlags: 150 - ATTRIBUTE_CAPS.tagFlags, traits: expect.any(Number) });
    expect(omitted!.traits).toBeGreaterThanOrEqual(200 - ATTRIBUTE_CAPS.traits);
  });

  it('leaves out nothing for an ordinary reader', () => {
    let r = emptyReader('e:a@b.co');
    for (const c of ['crypto', 'stocks', 'options']) r = applyEvent(r, { ...page(T0, c), id: `p${c}` }).state;
    expect(readerAttributes(r, ['crypto_enthusiast'], ['crypto_enthusiast'], 'ss_', T0).omitted).toBeNull();
  });
});
