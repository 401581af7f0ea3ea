// A directory written by the old ReaderDirectory (one table of readers, read whole; no _schema)
// upgrades in place: its reader rows stay, and the alarm backfills tags, overview figures and
// memberships in chunks. What Customer.io already held for the segment is kept (not sent again), and
// what it held for a reader who no longer matches is taken out. The fact table (reader_facts) is
// filled for the old rows the same way, after the memberships.
import { abortAllDurableObjects, env, runDurableObjectAlarm, runInDurableObject } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { type ReaderSummary, inSegment, segmentFacts } from '#shared/panel.ts';
import { matches } from '#shared/tag-rules.ts';
import { DAY_MS } from '#shared/reader.ts';
import type { ReaderDirectory } from '#edge/panel/directory/reader-directory.ts';
import { randomReader, rng } from '#edge/panel/directory/random-readers.ts';

const OLD_LAYOUT = `
  CREATE TABLE readers (key TEXT PRIMARY KEY, email TEXT, user_id TEXT, tags TEXT NOT NULL, score REAL NOT NULL,
    counters TEXT NOT NULL, traits TEXT NOT NULL, facts TEXT NOT NULL, active_days TEXT NOT NULL, last_seen INTEGER, signed_up_at INTEGER,
    updated_at INTEGER NOT NULL);
  CREATE INDEX readers_email ON readers (email);
  CREATE TABLE daily (day INTEGER NOT NULL, name TEXT NOT NULL, value REAL NOT NULL, PRIMARY KEY (day, name));
  CREATE TABLE segments (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL, description TEXT NOT NULL,
    rule TEXT, cio_id INTEGER, deleted INTEGER NOT NULL DEFAULT 0, sync_error TEXT, synced_at INTEGER, attempts INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL);
  CREATE TABLE manual (segment_id INTEGER NOT NULL, key TEXT NOT NULL, mode TEXT NOT NULL, PRIMARY KEY (segment_id, key));
  CREATE TABLE mirrored (segment_id INTEGER NOT NULL, key TEXT NOT NULL, id_type TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY (segment_id, key));
  CREATE TABLE welcomed (key TEXT PRIMARY KEY, at INTEGER NOT NULL);
  CREATE TABLE meta (k TEXT PRIMARY KEY, v TEXT NOT NULL);`;

describe('directory upgrade from the old layout', () => {
  it('keeps the old rows and backfills figures and memberships in chunks by alarm', async () => {
    const name = 'upgrade-directory';
    const stubOf = () => env.DIRECTORY.get(env.DIRECTORY.idFromName(name));
    const random = rng(99);
    const readers: ReaderSummary[] = Array.from({ length: 12_000 }, (_, i) => randomReader(random, i));
    const rule = { fact: 'tags', op: 'contains' as const, value: 'high_value' };
    const members = readers.filter((r) => inSegment(r, rule, new Map()));
    const stale = readers.find((r) => !inSegment(r, rule, new Map()))!;
    // Storage exactly as the old object left it (the new object's tables dropped first).
    await runInDurableObject(stubOf(), (_o: ReaderDirectory, state) => {
      const sql = state.storage.sql;
      for (const { name: table } of sql.exec<{ name: string }>("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_cf_%'").toArray()) {
        sql.exec(`DROP TABLE IF EXISTS "${table}"`);
      }
      sql.exec(OLD_LAYOUT);
      for (const r of readers) {
        sql.exec('INSERT INTO readers VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)', r.key, r.email, r.userId, JSON.stringify(r.tags), r.score,
          JSON.stringify(r.counters), JSON.stringify(r.traits), JSON.stringify(r.facts), JSON.stringify(r.activeDays), r.lastSeen, r.signedUpAt, r.updatedAt);
      }
      sql.exec("INSERT INTO segments (name, description, rule, cio_id, created_at, updated_at) VALUES ('Old', '', ?, 77, 1, 1)", JSON.stringify(rule));
      // Customer.io holds the first 100 members (the old alarm sent them) and one reader who no longer matches.
      for (const r of [...members.slice(0, 100), stale]) sql.exec('INSERT INTO mirrored VALUES (1, ?, ?, ?)', r.key, r.userId ? 'id' : 'email', r.userId ?? r.email);
      sql.exec("INSERT INTO meta VALUES ('workspace', 'no-such-workspace')");
    });
    await abortAllDurableObjects(); // the next call starts the new code on the old storage

    await runInDurableObject(stubOf(), (o: ReaderDirectory) => { o.clock = { now: () => Date.now() + 3_600_000 }; });
    let alarms = 0;
    while (alarms < 50 && (await stubOf().listSegments())[0]!.evaluating !== null) {
      await runDurableObjectAlarm(stubOf());
      alarms++;
    }
    expect(alarms).toBeGreaterThan(2); // 12,000 readers at 5,000 per alarm: backfill, then the segment's walk

    const overview = await stubOf().overview(20_000 * DAY_MS);
    expect(overview.readers).toBe(readers.length);
    const highValue = readers.filter((r) => r.tags.includes('high_value')).length;
    expect(overview.tagCounts.high_value).toBe(highValue);
    expect(overview.activeByDay.at(-1)!.readers).toBe(readers.filter((r) => r.activeDays.includes(20_000)).length);
    const [segment] = await stubOf().listSegments();
    // Everyone not yet held is queued; the held members are not; the stale one is queued for removal.
    expect(segment).toMatchObject({ count: members.length, mirrored: 101, pending: members.length - 100 + 1, cioSegmentId: 77 });
    expect((await stubOf().search('', 5))[0]!.score).toBe(Math.max(...readers.map((r) => r.score)));
    const found = (await stubOf().reader(members[0]!.key))!;
    expect(found.segments.map((s) => s.name)).toEqual(['Old']);

    // The fact table is filled last, in chunks by alarm; until then a preview does not trust it (it estimates).
    await runInDurableObject(stubOf(), (o: ReaderDirectory) => { o.previewScanReaders = 1_000; });
    const factRule = { fact: 'odd key', op: 'gte' as const, value: 9 };
    const factCount = readers.filter((r) => matches(factRule, segmentFacts(r))).length;
    const factsPending = () => runInDurableObject(stubOf(), (_o: ReaderDirectory, state) => state.storage.sql.exec("SELECT 1 FROM meta WHERE k = 'facts_cursor'").toArray().length > 0);
    expect(await factsPending()).toBe(true);
    expect((await stubOf().preview(factRule)).estimate).toBe(true);
    let factAlarms = 0;
    while (factAlarms < 50 && (await factsPending())) {
      await runDurableObjectAlarm(stubOf());
      factAlarms++;
    }
    expect(factAlarms).toBeGreaterThanOrEqual(2); // 12,000 readers at 5,000 per alarm, not one invocation
    expect(await factsPending()).toBe(false);
    expect(await stubOf().preview(factRule)).toMatchObject({ estimate: false, count: factCount });
    const factRows = await runInDurableObject(stubOf(), (_o: ReaderDirectory, state) =>
      state.storage.sql.exec("SELECT COUNT(*) AS n FROM reader_facts WHERE name = 'known'").one().n);
    expect(factRows).toBe(readers.length);
  });
});
