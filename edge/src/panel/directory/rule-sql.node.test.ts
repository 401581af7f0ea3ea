// The compiled SQL must answer what `matches` answers: random readers and rules, evaluated by
// Node's own SQLite (node:sqlite, the same JSON functions as a Durable Object's) against JavaScript.
import { DatabaseSync } from 'node:sqlite';
import { describe, expect, it } from 'vitest';
import { type Condition, matches } from '#shared/tag-rules.ts';
import { segmentFacts } from '#shared/panel.ts';
import { MAX_PARAMS, compileRule } from './rule-sql.ts';
import { randomReader, randomRule, rng } from './random-readers.ts';

function database(readers: ReturnType<typeof randomReader>[]) {
  const db = new DatabaseSync(':memory:');
  db.exec(`CREATE TABLE readers (key TEXT PRIMARY KEY, facts TEXT NOT NULL, score REAL NOT NULL);
    CREATE TABLE reader_tags (reader_key TEXT NOT NULL, tag TEXT NOT NULL, PRIMARY KEY (reader_key, tag));`);
  // The directory writes facts as JSONB; rows from before hold JSON text. Half of each.
  const insert = [db.prepare('INSERT INTO readers (key, facts, score) VALUES (?, jsonb(?), ?)'), db.prepare('INSERT INTO readers (key, facts, score) VALUES (?, ?, ?)')];
  const tag = db.prepare('INSERT OR IGNORE INTO reader_tags (reader_key, tag) VALUES (?, ?)');
  for (const [i, r] of readers.entries()) {
    insert[i % 2]!.run(r.key, JSON.stringify(r.facts), r.score);
    for (const t of r.tags) tag.run(r.key, t);
  }
  return db;
}

const sqlMatches = (db: DatabaseSync, rule: Condition): string[] | null => {
  const c = compileRule(rule);
  if (!c) return null;
  return (db.prepare(`SELECT key FROM readers r WHERE ${c.where} ORDER BY key`).all(...c.params) as Array<{ key: string }>).map((r) => r.key);
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
});
