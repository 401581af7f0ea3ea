// The ReaderDirectory at a publisher's size: 50,000 readers seeded straight into the object through
// its `upsertReaders` RPC (the call the sync shards make), in batches of 500 from the test's stub.
// After random updates, lost tags, removals and merges, rule changes (walked in chunks by alarm) and
// manual changes, every stored figure must equal a brute-force evaluation in the test: `inSegment`
// over the same readers for memberships and counts, `matches` for previews (exact through the tag,
// score and fact indexes, or estimated from a random sample within its stated margin).
import { env, runDurableObjectAlarm, runInDurableObject } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { type ReaderSummary, type SegmentRule, inSegment, segmentFacts } from '#shared/panel.ts';
import { matches } from '#shared/tag-rules.ts';
import { DAY_MS } from '#shared/reader.ts';
import type { ReaderDirectory } from '#edge/panel/directory/reader-directory.ts';
import { randomReader, randomRule, rng } from '#edge/panel/directory/random-readers.ts';

const READERS = 50_000;
const BATCH = 500;
const TODAY = 20_000; // the day random readers' activeDays count back from
const WS = 'scale-directory'; // no such workspace: the mirror stays idle, this file is about counting

const stub = () => env.DIRECTORY.get(env.DIRECTORY.idFromName(WS));

/** The test's own copy of the truth: readers and the overrides it asked for. */
const model = { readers: new Map<string, ReaderSummary>(), manual: new Map<string, Map<string, 'add' | 'remove'>>() };
const overrides = (id: string) => model.manual.get(id) ?? new Map<string, 'add' | 'remove'>();

async function upsert(readers: ReaderSummary[]) {
  for (let i = 0; i < readers.length; i += BATCH) await stub().upsertReaders(WS, readers.slice(i, i + BATCH));
  for (const r of readers) model.readers.set(r.key, r);
}

async function remove(keys: string[]) {
  for (let i = 0; i < keys.length; i += BATCH) await stub().removeReaders(keys.slice(i, i + BATCH));
  for (const k of keys) {
    model.readers.delete(k);
    for (const m of model.manual.values()) m.delete(k);
  }
}

/** Runs the object's alarm until no segment is being re-evaluated; returns the progress seen on the way. */
async function settle(): Promise<Array<{ done: number; total: number }>> {
  const seen: Array<{ done: number; total: number }> = [];
  for (let i = 0; i < 1000; i++) {
    const evaluating = (await stub().listSegments()).map((s) => s.evaluating).filter((e) => e !== null);
    if (!evaluating.length) return seen;
    seen.push(...evaluating);
    await runDurableObjectAlarm(stub());
  }
  throw new Error('re-evaluation did not finish');
}

async function allMembers(id: string): Promise<string[]> {
  const keys: string[] = [];
  for (let after = ''; ;) {
    const page = (await stub().memberPage(id, after, 1000))!;
    keys.push(...page.members.map((m) => m.key));
    if (page.next === null) return keys.sort();
    after = page.next;
  }
}

const truth = (rule: SegmentRule | null, id: string) => [...model.readers.values()].filter((r) => inSegment(r, rule, overrides(id)));

describe('reader directory at 50,000 readers', () => {
  it('keeps counts, memberships and overview figures equal to a brute-force evaluation', async () => {
    // Alarms are stepped by hand: the object's clock runs an hour ahead, so none fires by itself.
    await runInDurableObject(stub(), (o: ReaderDirectory) => { o.clock = { now: () => Date.now() + 3_600_000 }; });
    const random = rng(424242);
    const ruleA: SegmentRule = { all: [{ fact: 'tags', op: 'contains', value: 'high_value' }, { fact: 'score', op: 'gte', value: 0.3 }] };
    const a = await stub().createSegment(WS, { name: 'A (before seeding)', description: '', rule: ruleA });

    const started = Date.now();
    await upsert(Array.from({ length: READERS }, (_, i) => randomReader(random, i, TODAY)));
    const seedMs = Date.now() - started;

    // A rule made after the readers: counted over all of them in chunks, with progress.
    const ruleB: SegmentRule = { any: [{ fact: 'trait.tier', op: 'in', value: ['premium', 'pro'] },
      { all: [{ fact: 'reads', op: 'gte', value: 5 }, { not: { fact: 'tags', op: 'contains', value: 'new_subscriber' } }] }] };
    const b = await stub().createSegment(WS, { name: 'B (after seeding)', description: '', rule: ruleB });
    expect(b.evaluating).toEqual({ done: 2000, total: READERS });
    const progress = await settle();
    expect(progress.length).toBeGreaterThan(5);
    expect(progress.map((p) => p.done)).toEqual([...progress.map((p) => p.done)].sort((x, y) => x - y));
    expect((await stub().listSegments()).find((s) => s.id === b.id)!.count).toBe(truth(ruleB, b.id).length);

    // A manual segment, filled by tags (more than the inline limit: written in SQL, walked by alarm) and by keys.
    const c = await stub().createSegment(WS, { name: 'C (manual)', description: '', rule: null });
    const tagged = [...model.readers.values()].filter((r) => r.tags.includes('crypto_enthusiast') && r.tags.includes('high_engagement'));
    expect(tagged.length).toBeGreaterThan(2000);
    const byTags = (await stub().changeMembers(c.id, { emails: [], keys: [], tags: ['crypto_enthusiast', 'high_engagement'] }, 'add'))!;
    expect(byTags.changedCount).toBe(tagged.length);
    model.manual.set(c.id, new Map(tagged.map((r) => [r.key, 'add'])));

    // Random updates (tags lost and gained, scores and days moved), removals, and merges.
    const keys = () => [...model.readers.keys()];
    const sample = (n: number) => Array.from({ length: n }, () => keys()[Math.floor(random() * model.readers.size)]!);
    await upsert([...new Set(sample(5000))].map((k, i) => ({ ...randomReader(random, READERS + i, TODAY + 1), key: k, email: model.readers.get(k)!.email, userId: model.readers.get(k)!.userId })));
    await remove([...new Set(sample(1000))]);
    const merges = [...new Set(sample(600))];
    const absorbed = merges.slice(0, 300);
    const into = merges.slice(300);
    await remove(absorbed);
    await upsert(into.filter((k) => model.readers.has(k)).map((k, i) => {
      const r = model.readers.get(k)!;
      const other = randomReader(random, READERS * 2 + i, TODAY + 1);
      return { ...r, tags: [...new Set([...r.tags, ...other.tags])].sort(), activeDays: [...new Set([...r.activeDays, ...other.activeDays])], score: other.score };
    }));

    // Hand-made changes against rules, then a rule change walked again.
    const removeFromA = sample(50);
    const resultA = (await stub().changeMembers(a.id, { emails: [], keys: [...removeFromA, 'e:nobody@example.com'], tags: [] }, 'remove'))!;
    expect(resultA.unknown).toEqual(['e:nobody@example.com']);
    model.manual.set(a.id, new Map(removeFromA.map((k) => [k, 'remove'])));
    const addToB = sample(50);
    await stub().changeMembers(b.id, { emails: addToB.map((k) => model.readers.get(k)!.email!), keys: [], tags: [] }, 'add');
    model.manual.set(b.id, new Map([...model.readers.values()].filter((r) => addToB.some((k) => model.readers.get(k)!.email === r.email)).map((r) => [r.key, 'add'])));
    const ruleA2: SegmentRule = { all: [{ fact: 'tags', op: 'contains', value: 'high_value' }, { fact: 'score', op: 'gte', value: 0.5 }] };
    await stub().updateSegment(a.id, { name: 'A', description: '', rule: ruleA2 });
    await settle();

    const rules = new Map<string, SegmentRule | null>([[a.id, ruleA2], [b.id, ruleB], [c.id, null]]);
    const segments = await stub().listSegments();
    for (const s of segments) {
      const expected = truth(rules.get(s.id)!, s.id);
      expect(s.count, s.name).toBe(expected.length);
      expect(await allMembers(s.id), s.name).toEqual(expected.map((r) => r.key).sort());
      const detail = (await stub().segment(s.id))!;
      expect(detail.members.map((m) => m.score), s.name).toEqual(expected.map((r) => r.score).sort((x, y) => y - x).slice(0, 100));
    }
    expect(segments.find((s) => s.id === a.id)).toMatchObject({ manualRemoves: 50, evaluating: null });

    // The overview, from its tables.
    const overview = await stub().overview(TODAY * DAY_MS + 1000);
    const readers = [...model.readers.values()];
    expect(overview.readers).toBe(readers.length);
    const tagCounts: Record<string, number> = {};
    for (const r of readers) for (const t of r.tags) tagCounts[t] = (tagCounts[t] ?? 0) + 1;
    expect(overview.tagCounts).toEqual(tagCounts);
    expect(overview.averageScore).toBeCloseTo(readers.reduce((s, r) => s + r.score, 0) / readers.length, 6);
    for (const { day, readers: n } of overview.activeByDay) expect(n, `day ${day}`).toBe(readers.filter((r) => r.activeDays.includes(day)).length);
    expect(overview.scoreDistribution.reduce((x, y) => x + y, 0)).toBe(readers.length);
    expect((await stub().tagHistory(30, TODAY * DAY_MS)).tags.high_value!.at(-1)).toBe(tagCounts.high_value);

    // Previews of unsaved rules at a size where nothing is scanned (50,000 > previewScanReaders): exact when
    // index lookups narrow the rule to previewLookupRows readers, otherwise estimated from a random sample.
    const truthOf = (rule: SegmentRule) => readers.filter((r) => matches(rule, segmentFacts(r))).length;
    const check = async (rule: SegmentRule) => {
      const preview = await stub().preview(rule);
      const want = truthOf(rule);
      expect(preview.total).toBe(readers.length);
      if (preview.estimate) {
        expect(preview.sampled, JSON.stringify(rule)).toBeGreaterThan(3_000);
        // A 95 % interval: twice its half-width (about four standard errors) must hold the truth.
        expect(Math.abs(preview.count - want), JSON.stringify(rule)).toBeLessThanOrEqual(2 * preview.margin + 1);
      } else {
        expect(preview.count, JSON.stringify(rule)).toBe(want);
        expect(preview.margin).toBe(0);
      }
      for (const r of preview.sample) expect(matches(rule, segmentFacts(model.readers.get(r.key)!)), JSON.stringify(rule)).toBe(true);
      return preview;
    };
    // Fact rules narrow enough for the fact index: exact at any size. (The candidate bound is raised from its
    // default, 10,000, so that the wider ones here, like an array element held by 28 % of readers, stay exact.)
    await runInDurableObject(stub(), (o: ReaderDirectory) => { o.previewLookupRows = 20_000; });
    const factRules: SegmentRule[] = [
      { fact: 'odd key', op: 'gte', value: 9.5 },
      { fact: 'days_since_signup', op: 'eq', value: 3 },
      { fact: 'mixed', op: 'in', value: ['3'] },
      { fact: 'mixed', op: 'eq', value: true },
      { fact: 'topics', op: 'contains', value: 'bonds' },
      { all: [{ fact: 'trait.tier', op: 'eq', value: 'Premium' }, { fact: 'reads', op: 'gte', value: 6 }] },
      { any: [{ fact: "it's", op: 'eq', value: 'yes' }, { fact: 'odd key', op: 'lt', value: 0.5 }] },
      { all: [{ fact: 'read_share.crypto', op: 'gt', value: 0.9 }, { not: { fact: 'trait.tier', op: 'eq', value: 'basic' } }] },
      { all: [{ fact: 'tags', op: 'contains', value: 'high_value' }, { fact: 'score', op: 'gte', value: 0.9 }, { fact: 'known', op: 'eq', value: false }] },
    ];
    for (const rule of factRules) expect((await check(rule)).estimate, JSON.stringify(rule)).toBe(false);
    // A rule on the score alone is counted from the score index, however broad.
    expect((await check({ any: [{ fact: 'score', op: 'gte', value: 0.2 }, { all: [{ fact: 'score', op: 'lt', value: 0.1 }, { fact: 'score', op: 'in', value: [0.05] }] }] })).estimate).toBe(false);
    expect((await check({ not: { fact: 'score', op: 'eq', value: 0.5 } })).estimate).toBe(true); // would read the whole index
    // What needs a scan is estimated, and says so: a negation, a broad `ne`, a rule SQL cannot express.
    for (const rule of [{ not: { fact: 'reads', op: 'eq', value: 3 } }, { fact: 'trait.tier', op: 'ne', value: 'basic' }] as SegmentRule[]) {
      const p = await check(rule);
      expect(p.estimate).toBe(true);
      expect(p.margin).toBeGreaterThan(0);
    }
    expect(await stub().preview({ fact: 'constructor', op: 'exists' })).toMatchObject({ estimate: true, count: readers.length });
    let exact = 0;
    for (let i = 0; i < 40; i++) if (!(await check(randomRule(random, 2))).estimate) exact++;
    expect(exact).toBeGreaterThan(5);
    expect(exact).toBeLessThan(40);
    // Lower bounds turn the same fact rule into an estimate; a small-directory bound makes it a counted scan again.
    await runInDurableObject(stub(), (o: ReaderDirectory) => { o.previewLookupRows = 100; });
    expect((await check(factRules[4]!)).estimate).toBe(true);
    await runInDurableObject(stub(), (o: ReaderDirectory) => { o.previewScanReaders = 100_000; });
    expect((await check(factRules[4]!)).estimate).toBe(false);
    // The fact table follows updates and removals: no rows for readers that are gone, every reader's facts present.
    await runInDurableObject(stub(), (_o: ReaderDirectory, state) => {
      const sql = state.storage.sql;
      expect(sql.exec('SELECT COUNT(*) AS n FROM reader_facts WHERE reader_key NOT IN (SELECT key FROM readers)').one().n).toBe(0);
      expect(sql.exec("SELECT COUNT(DISTINCT reader_key) AS n FROM reader_facts WHERE name = 'known'").one().n).toBe(readers.length);
    });
    console.log(`seeded ${READERS} readers in ${seedMs} ms`);
  }, 120_000);
});
