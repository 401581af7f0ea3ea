/**
 * A segment rule as a SQL expression over the directory's tables, so that a preview counts in SQLite
 * instead of reading readers into JavaScript. The expression answers exactly what `inSegment` /
 * `matches` answers for the reader (shared/tag-rules.ts), including its quirks: `ne` holds for a fact
 * that is present with another type (or JSON null), `in` never holds for an array fact, numbers
 * compare only with numbers, and `contains` is substring on strings and SameValueZero on arrays.
 *
 * What it reads: `r.score` (readers.score, what `segmentFacts` puts under `score`), the reader's tags
 * through `reader_tags` (what it puts under `tags`), and every other fact from the JSON column
 * `r.facts` with json_type / json_extract / json_each. Every expression is 0 or 1, never NULL, so
 * NOT / AND / OR over them keep JavaScript's two-valued logic.
 *
 * A rule it cannot express exactly yields null (the caller falls back to a labelled estimate):
 * fact names that JavaScript would find on Object.prototype (`constructor`, `__proto__`, ...), names
 * with `"` or `\` (no escape in SQLite's JSON path labels), and rules needing more than
 * MAX_PARAMS bound parameters (Cloudflare allows 100 per query). Pure.
 */
import type { Condition, FactValue } from '#shared/tag-rules.ts';

export type SqlParam = string | number;
export interface CompiledRule {
  /** A 0/1 expression over `r` (readers) . */
  where: string;
  params: SqlParam[];
  /** A tag every match carries (a top-level conjunct): the count can be driven from the tag index. */
  tag: string | null;
}

/** Leaves the caller's own parameters (the driving tag, a limit) room within Cloudflare's 100. */
export const MAX_PARAMS = 90;

const NUMBER_TYPES = "('integer', 'real')";

class Uncompilable extends Error {}

export function compileRule(rule: Condition): CompiledRule | null {
  const params: SqlParam[] = [];
  try {
    const where = compile(rule, params);
    if (params.length > MAX_PARAMS) return null;
    return { where, params, tag: drivingTag(rule) };
  } catch (e) {
    if (e instanceof Uncompilable) return null;
    throw e;
  }
}

function compile(c: Condition, params: SqlParam[]): string {
  if ('all' in c) return c.all.length ? `(${c.all.map((x) => compile(x, params)).join(' AND ')})` : '1';
  if ('any' in c) return c.any.length ? `(${c.any.map((x) => compile(x, params)).join(' OR ')})` : '0';
  if ('not' in c) return `(NOT ${compile(c.not, params)})`;
  if (c.fact === 'tags') return tagsLeaf(c.op, c.value, params);
  if (c.fact === 'score') return scoreLeaf(c.op, c.value, params);
  return factLeaf(c.fact, c.op, c.value, params);
}

/** `tags` is always an array of strings. */
function tagsLeaf(op: string, value: FactValue, params: SqlParam[]): string {
  switch (op) {
    case 'exists': return '1';
    case 'ne': return '1'; // an array is never === a rule value
    case 'contains':
      if (typeof value !== 'string') return '0';
      params.push(value);
      return 'EXISTS (SELECT 1 FROM reader_tags t WHERE t.reader_key = r.key AND t.tag = ?)';
    default: return '0'; // eq (identity), in (array actual), numeric ops
  }
}

/** `score` is always a number (readers.score is NOT NULL). */
function scoreLeaf(op: string, value: FactValue, params: SqlParam[]): string {
  const isNumber = typeof value === 'number';
  switch (op) {
    case 'exists': return '1';
    case 'eq': return isNumber ? (params.push(value), '(r.score = ?)') : '0';
    case 'ne': return isNumber ? (params.push(value), '(r.score != ?)') : '1';
    case 'contains': return '0';
    case 'in':
      if (!Array.isArray(value)) return '0';
      params.push(JSON.stringify(value));
      return `(r.score IN (SELECT value FROM json_each(?) WHERE type IN ${NUMBER_TYPES}))`;
    case 'gt': case 'gte': case 'lt': case 'lte':
      if (!isNumber) return '0';
      params.push(value);
      return `(r.score ${SQL_OP[op]} ?)`;
  }
  return '0';
}

const SQL_OP = { gt: '>', gte: '>=', lt: '<', lte: '<=' } as const;

function factLeaf(fact: string, op: string, value: FactValue, params: SqlParam[]): string {
  // facts[name] would find these on Object.prototype: JavaScript sees a value where SQL sees none.
  if (fact in Object.prototype || /["\\]/.test(fact)) throw new Uncompilable(fact);
  const path = `'$."${fact.replaceAll("'", "''")}"'`;
  const jt = `json_type(r.facts, ${path})`;
  const jv = `json_extract(r.facts, ${path})`;
  const safe = (expr: string) => `COALESCE(${expr}, 0)`;
  const eq = (): string => {
    if (typeof value === 'number') return (params.push(value), safe(`${jt} IN ${NUMBER_TYPES} AND ${jv} = ?`));
    if (typeof value === 'string') return (params.push(value), safe(`${jt} = 'text' AND ${jv} = ?`));
    if (typeof value === 'boolean') return safe(`${jt} = '${value ? 'true' : 'false'}'`);
    return '0'; // an array value: never === the fact
  };
  switch (op) {
    case 'exists': return `(IFNULL(${jt}, 'null') != 'null')`;
    case 'eq': return eq();
    // Present (JSON null included: null !== value) and not equal.
    case 'ne': return `(${jt} IS NOT NULL AND NOT ${eq()})`;
    case 'contains': {
      // An array fact: SameValueZero on its elements. A string fact: substring of String(value).
      let element: string;
      if (typeof value === 'string') element = (params.push(value), "type = 'text' AND value = ?");
      else if (typeof value === 'number') element = (params.push(value), `type IN ${NUMBER_TYPES} AND value = ?`);
      else if (typeof value === 'boolean') element = `type = '${value ? 'true' : 'false'}'`;
      else element = '0';
      params.push(String(value));
      return safe(`(${jt} = 'array' AND EXISTS (SELECT 1 FROM json_each(r.facts, ${path}) WHERE ${element})) OR (${jt} = 'text' AND instr(${jv}, ?) > 0)`);
    }
    case 'in': {
      if (!Array.isArray(value)) return '0';
      const list = JSON.stringify(value);
      params.push(list, list);
      return safe(`(${jt} = 'text' AND ${jv} IN (SELECT value FROM json_each(?) WHERE type = 'text'))`
        + ` OR (${jt} IN ${NUMBER_TYPES} AND ${jv} IN (SELECT value FROM json_each(?) WHERE type IN ${NUMBER_TYPES}))`);
    }
    case 'gt': case 'gte': case 'lt': case 'lte':
      if (typeof value !== 'number') return '0';
      params.push(value);
      return safe(`${jt} IN ${NUMBER_TYPES} AND ${jv} ${SQL_OP[op]} ?`);
  }
  return '0';
}

/** A tag the rule requires outright (`tags contains x`, alone or as a direct conjunct of `all`). */
function drivingTag(rule: Condition): string | null {
  const isTag = (c: Condition): c is { fact: string; op: 'contains'; value: string } =>
    'fact' in c && c.fact === 'tags' && c.op === 'contains' && typeof c.value === 'string';
  if (isTag(rule)) return rule.value;
  if ('all' in rule) return rule.all.find(isTag)?.value ?? null;
  return null;
}
