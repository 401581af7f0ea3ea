// The compiled SQL must answer what `matches` answers: random readers and rules, evaluated by
// Node's own SQLite (node:sqlite, the same JSON functions as a Durable Object's) against JavaScript.
import { DatabaseSync } from 'node:sqlite';
import { describe, expect, it } from 'vitest';
import { type Condition, matches } from '#shared/tag-rules.ts';
import { segmentFacts } from '#shared/panel.ts';
import { MAX_PARAMS, READER_FACT_ROWS, compileRule, factsChange, lookupUnion, onlyScore, planLookups } from './rule-sql.ts';
import { randomReader, randomRule, rng } from './random-readers.ts';

function database(readers: ReturnType<typeof randomReader>[]) {
  const db = new DatabaseSync(':memory:');
  db.exec(`CREATE TABLE readers (key TEXT PRIMARY KEY, facts TEXT NOT NULL, score REAL NOT NULL);
    CREATE INDEX readers_score ON readers (score);
    CREATE TABLE reader_tags (reader_key TEXT NOT NULL, tag TEXT NOT NULL, PRIMARY KEY (reader_key, tag));
    CREATE INDEX reader_tags_tag ON reader_tags (tag, reader_key);
    CREATE TABLE reader_facts (reader_key TEXT NOT NULL, name TEXT NOT NULL, t TEXT NOT NULL, v NOT NULL, PRIMARY KEY (reader_key, name, t, v)) WITHOUT ROWID;
    CREATE INDEX reader_facts_value ON reader_facts (name, t, v);`);
  const fact = db.prepare(`INSERT OR IGNORE INTO reader_facts (reader_key, name, t, v) ${READER_FACT_ROWS}`);
  // The directory writes facts as JSONB; rows from before hold JSON text. Half of each.
  const insert = [db.prepare('INSERT INTO readers (key, facts, score) VALUES (?, jsonb(?), ?)'), db.prepare('INSERT INTO readers (key, facts, score) VALUES (?, ?, ?)')];
  const tag = db.prepare('INSERT OR IGNORE INTO reader_tags (reader_key, tag) VALUES (?, ?)');
  for (const [i, r] of readers.entries()) {
    insert[i % 2]!.run(r.key, JSON.stringify(r.facts), r.score);
    for (const t of r.tags) tag.run(r.key, t);
    fact.run(r.key, JSON.stringify(r.facts));
  }
  return db;
}

const sqlMatches = (db: DatabaseSync, rule: Condition): string[] | null => {
  const c = compileRule(rule);
  if (!c) return null;
  return (db.prepare(`SELECT key FROM readers r WHERE ${c.where} ORDER BY key`).all(...c.params) as Array<{ key: string }>).map((r) => r.key);
};

/** The preview's exact path: the rule counted over the readers its cheapest index lookups select (as countAmong does). */
const lookedUp = (db: DatabaseSync, rule: Condition): { candidates: string[]; matched: string[] } | null => {
  const c = compileRule(rule);
  const plan = planLookups(rule, (l) => (db.prepare(`SELECT COUNT(*) AS n FROM (${l.sql})`).get(...l.params) as { n: number }).n);
  if (!c || !plan) return null;
  const keys = lookupUnion(plan.lookups);
  const candidates = (db.prepare(`SELECT k FROM (${keys.sql}) ORDER BY k`).all(...keys.params) as Array<{ k: string }>).map((r) => r.k);
  const matched = (db.prepare(`SELECT r.key FROM (${keys.sql}) d CROSS JOIN readers r ON r.key = d.k WHERE ${c.where} ORDER BY r.key`)
    .all(...keys.params, ...c.params) as Array<{ key: string }>).map((r) => r.key);
  return { candidates, matched };
};

describe('rule-sql', () => {
  it('gives the same readers as matches() for 600 random rules over 300 random readers', () => {
    const random = rng(20261201);
    // JSON round trip: the directory stores facts as JSON and reads them back before evaluating.
    const readers = Array.from({ length: 300 }, (_, i) => JSON.parse(JSON.stringify(randomReader(random, i))) as ReturnType<typeof randomReader>);
    const db = database(readers);
    let compiled = 0;
    let nonTrivial = 0;
    for (let i = 0; i < 600; i++) {
      const rule = randomRule(random, 3);
      const expected = readers.filter((r) => matches(rule, segmentFacts(r))).map((r) => r.key).sort();
      const got = sqlMatches(db, rule);
      if (got === null) continue;
      compiled++;
      if (expected.length > 0 && expected.length < readers.length) nonTrivial++;
      expect(got, JSON.stringify(rule)).toEqual(expected);
    }
    expect(compiled).toBeGreaterThan(550);
    expect(nonTrivial).toBeGreaterThan(200); // the rules really split the readers
  });

  it('narrows rules through the tag, score and fact indexes without losing a match (600 random rules)', () => {
    const random = rng(777);
    const readers = Array.from({ length: 400 }, (_, i) => JSON.parse(JSON.stringify(randomReader(random, i))) as ReturnType<typeof randomReader>);
    const db = database(readers);
    let planned = 0;
    let narrowed = 0;
    const sources = new Set<string>();
    for (let i = 0; i < 600; i++) {
      const rule = randomRule(random, 3);
      const got = lookedUp(db, rule);
      if (!got) continue;
      planned++;
      const expected = readers.filter((r) => matches(rule, segmentFacts(r))).map((r) => r.key).sort();
      expect(got.matched, JSON.stringify(rule)).toEqual(expected);
      const candidates = new Set(got.candidates);
      expect(expected.every((k) => candidates.has(k)), JSON.stringify(rule)).toBe(true); // a superset
      if (candidates.size < readers.length / 2) narrowed++;
      for (const l of planLookups(rule, () => 1)!.lookups) sources.add(l.source);
    }
    expect(planned).toBeGreaterThan(300);
    expect(narrowed).toBeGreaterThan(150);
    expect([...sources].sort()).toEqual(['facts', 'none', 'score', 'tags']);
  });

  it('finds each operator and value type through the fact index', () => {
    const reader = { key: 'e:a@x.com', tags: ['high_value'], score: 0.42, facts: {
      'trait.tier': 'premium', reads: 3, share: 0.5, topics: ['crypto', 'stocks'], known: true, off: false, email: 'a@x.com',
      ids: [1, 2.5], nested: { a: 1 }, nothing: null, mixed: '3',
    } };
    const other = { key: 'e:b@x.com', tags: [], score: 0.1, facts: { reads: '3', mixed: 3, topics: [] } };
    const db = database([reader, other] as never);
    const rules: Condition[] = [
      { fact: 'trait.tier', op: 'eq', value: 'premium' }, { fact: 'trait.tier', op: 'in', value: ['pro', 'premium'] },
      { fact: 'reads', op: 'eq', value: 3 }, { fact: 'reads', op: 'eq', value: '3' }, { fact: 'reads', op: 'gt', value: 2 },
      { fact: 'share', op: 'lte', value: 0.5 }, { fact: 'topics', op: 'contains', value: 'crypto' }, { fact: 'topics', op: 'contains', value: 'cry' },
      { fact: 'email', op: 'contains', value: '@x.' }, { fact: 'ids', op: 'contains', value: 2.5 }, { fact: 'known', op: 'eq', value: true },
      { fact: 'off', op: 'eq', value: false }, { fact: 'nested', op: 'exists' }, { fact: 'nothing', op: 'exists' }, { fact: 'nothing', op: 'ne', value: 1 },
      { fact: 'mixed', op: 'in', value: [3] }, { fact: 'mixed', op: 'in', value: ['3'] }, { fact: 'mixed', op: 'ne', value: 3 },
      { fact: 'topics', op: 'in', value: ['crypto'] }, { fact: 'reads', op: 'gte', value: '2' as never }, { fact: 'score', op: 'in', value: [0.42] },
      { fact: 'score', op: 'lt', value: 0.2 }, { fact: 'tags', op: 'contains', value: 'high_value' }, { fact: 'tags', op: 'eq', value: 'high_value' },
      { any: [{ fact: 'reads', op: 'eq', value: '3' }, { fact: 'known', op: 'eq', value: true }] },
    ];
    for (const rule of rules) {
      const expected = [reader, other].filter((r) => matches(rule, segmentFacts(r as never))).map((r) => r.key).sort();
      expect(lookedUp(db, rule)?.matched, JSON.stringify(rule)).toEqual(expected);
    }
    // A negation, `ne` on a tag or an `any` with such a branch cannot be narrowed: the caller estimates.
    expect(planLookups({ not: { fact: 'reads', op: 'eq', value: 3 } }, () => 1)).toBeNull();
    expect(planLookups({ any: [{ fact: 'reads', op: 'eq', value: 3 }, { fact: 'tags', op: 'exists' }] }, () => 1)).toBeNull();
    // The cheapest conjunct drives; an index still being filled (cost null) is not used.
    const conj: Condition = { all: [{ fact: 'tags', op: 'contains', value: 'x' }, { fact: 'reads', op: 'eq', value: 3 }] };
    expect(planLookups(conj, (l) => (l.source === 'tags' ? 5 : 50))!.lookups[0]!.source).toBe('tags');
    expect(planLookups(conj, (l) => (l.source === 'tags' ? null : 50))!.lookups[0]!.source).toBe('facts');
    expect(onlyScore({ all: [{ fact: 'score', op: 'gte', value: 0.2 }, { any: [{ fact: 'score', op: 'lt', value: 0.9 }, { fact: 'score', op: 'in', value: [1] }] }] })).toBe(true);
    expect(onlyScore({ all: [{ fact: 'score', op: 'gte', value: 0.2 }, { not: { fact: 'score', op: 'lt', value: 0.9 } }] })).toBe(false);
    expect(onlyScore({ fact: 'score', op: 'ne', value: 0.5 })).toBe(false);
    expect(onlyScore({ any: [{ fact: 'score', op: 'gte', value: 0.2 }, { fact: 'reads', op: 'gt', value: 1 }] })).toBe(false);
    // Fact lookups read the (name, t, v) index.
    const l = planLookups({ fact: 'reads', op: 'gte', value: 2 }, () => 1)!.lookups[0]!;
    const plan = (db.prepare(`EXPLAIN QUERY PLAN ${l.sql}`).all(...l.params) as Array<{ detail: string }>).map((r) => r.detail).join(' ');
    expect(plan).toContain('reader_facts_value');
  });

  it('covers each operator and value type on a known reader', () => {
    const reader = { key: 'e:a@x.com', tags: ['premium_subscriber', 'high_value'], score: 0.42, facts: {
      'trait.tier': 'premium', reads: 3, 'read_share.crypto': 0.5, topics: ['crypto', 'stocks'], known: true, email: 'a@x.com',
      ids: [1, 2.5], "it's": 'ok', nothing: null,
    } };
    const db = database([reader as never]);
    const cases: Array<[Condition, boolean]> = [
      [{ fact: 'trait.tier', op: 'eq', value: 'premium' }, true],
      [{ fact: 'trait.tier', op: 'ne', value: 'basic' }, true],
      [{ fact: 'nothing', op: 'ne', value: 'x' }, true], // JSON null !== 'x'
      [{ fact: 'nothing', op: 'exists' }, false],
      [{ fact: 'missing', op: 'ne', value: 'x' }, false],
      [{ fact: 'reads', op: 'eq', value: '3' }, false], // no coercion
      [{ fact: 'reads', op: 'gte', value: 3 }, true],
      [{ fact: 'read_share.crypto', op: 'lt', value: 0.6 }, true],
      [{ fact: 'topics', op: 'contains', value: 'crypto' }, true],
      [{ fact: 'topics', op: 'contains', value: 'cry' }, false], // elements, not substrings
      [{ fact: 'email', op: 'contains', value: '@x.' }, true],
      [{ fact: 'ids', op: 'contains', value: 2.5 }, true],
      [{ fact: 'topics', op: 'in', value: ['crypto'] }, false], // an array fact is never "in"
      [{ fact: 'trait.tier', op: 'in', value: ['pro', 'premium'] }, true],
      [{ fact: 'known', op: 'eq', value: true }, true],
      [{ fact: "it's", op: 'eq', value: 'ok' }, true],
      [{ fact: 'tags', op: 'contains', value: 'high_value' }, true],
      [{ fact: 'tags', op: 'eq', value: 'high_value' }, false],
      [{ fact: 'score', op: 'in', value: [0.42, 1] }, true],
      [{ not: { fact: 'score', op: 'gt', value: 0.5 } }, true],
      [{ any: [{ fact: 'missing', op: 'exists' }, { fact: 'tags', op: 'ne', value: 'x' }] }, true],
    ];
    for (const [rule, want] of cases) {
      expect(matches(rule, segmentFacts(reader as never)), `JS ${JSON.stringify(rule)}`).toBe(want);
      expect(sqlMatches(db, rule)!.length === 1, `SQL ${JSON.stringify(rule)}`).toBe(want);
    }
  });

  it('refuses what SQL cannot express exactly, so the caller estimates instead', () => {
    expect(compileRule({ fact: 'constructor', op: 'exists' })).toBeNull(); // JavaScript finds Object.prototype's
    expect(compileRule({ fact: 'a"b', op: 'exists' })).toBeNull();
    const wide: Condition = { any: Array.from({ length: MAX_PARAMS + 1 }, (_, i) => ({ fact: 'reads', op: 'eq' as const, value: i })) };
    expect(compileRule(wide)).toBeNull();
    expect(compileRule({ all: [{ fact: 'tags', op: 'contains', value: 'x' }, { fact: 'score', op: 'gte', value: 0.2 }] })?.tag).toBe('x');
  });
  it('keeps the facts rows of random readers equal to a full rewrite when only the changed facts are written', () => {
    const db = database([]);
    const rowsOf = (key: string) => db.prepare('SELECT name, t, v FROM reader_facts WHERE reader_key = ? ORDER BY name, t, v').all(key);
    const write = db.prepare(`INSERT OR IGNORE INTO reader_facts (reader_key, name, t, v) ${READER_FACT_ROWS}`);
    const drop = db.prepare('DELETE FROM reader_facts WHERE reader_key = ?1 AND name IN (SELECT value FROM json_each(?2))');
    const random = rng(1201);
    // Through JSON, as the directory reads a row's facts back.
    const factsOf = (i: number) => JSON.parse(JSON.stringify(randomReader(random, i).facts)) as ReturnType<typeof randomReader>['facts'];
    for (let i = 0; i < 300; i++) {
      const before = factsOf(i);
      const after = i % 5 === 0 ? before : factsOf(i);
      write.run('a', JSON.stringify(before));
      const change = factsChange(before, after);
      drop.run('a', JSON.stringify(change.drop));
      write.run('a', JSON.stringify(change.write));
      write.run('b', JSON.stringify(after));
      expect(rowsOf('a')).toEqual(rowsOf('b'));
      if (after === before) expect(change).toEqual({ drop: [], write: {} });
      db.exec('DELETE FROM reader_facts');
    }
    expect(factsChange({ opens: 1, topics: ['a'], gone: true }, { opens: 2, topics: ['a'], added: 's' })).toEqual({ drop: ['opens', 'gone'], write: { opens: 2, added: 's' } });
  });
});
