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

// ---- indexed lookups: which readers a preview needs to look at --------------------------------

/**
 * One index lookup: a SELECT of reader keys (column `k`) that holds every reader a condition
 * matches, maybe more (the compiled `where` decides each one). Read from reader_tags, the score
 * index, or reader_facts (one row per top-level fact and per array element, typed; see
 * `factRowsOf`).
 */
export interface Lookup { sql: string; params: SqlParam[]; source: 'tags' | 'score' | 'facts' | 'none' }

/**
 * reader_facts' type code for a json_each row's `type` column: n number, s text, t/f boolean, z JSON
 * null, a array, o object; an element of an array fact is stored as `e` + its code. Its value `v`
 * is the number or text itself, 0 for the others (the code says all there is).
 */
export const factType = (type: string) => `CASE ${type} WHEN 'integer' THEN 'n' WHEN 'real' THEN 'n' WHEN 'text' THEN 's' WHEN 'true' THEN 't'
  WHEN 'false' THEN 'f' WHEN 'null' THEN 'z' WHEN 'array' THEN 'a' ELSE 'o' END`;
export const factValue = (row: string) => `CASE WHEN ${row}.type IN ('integer', 'real', 'text') THEN ${row}.value ELSE 0 END`;

/**
 * The rows of reader_facts (reader_key, name, t, v) of the readers in `from` (a FROM clause) whose
 * key is `key` and facts (JSON or JSONB) `json`, `where` they match: top-level facts, then array
 * elements. One home for the rows every write and backfill of the table makes.
 */
export const factRowsOf = (from: string, key: string, json: string, where = '1') =>
  `SELECT ${key} AS reader_key, f.key AS name, ${factType('f.type')} AS t, ${factValue('f')} AS v FROM ${from}, json_each(${json}) f WHERE ${where}
  UNION ALL SELECT ${key}, f.key, 'e' || ${factType('e.type')}, ${factValue('e')} FROM ${from}, json_each(${json}) f, json_each(f.value) e
  WHERE f.type = 'array' AND ${where}`;

/**
 * What a reader's facts rows need when its facts go from `before` to `after`: the names whose rows
 * go (changed or gone) and the facts whose rows are written (changed or new). An open changes two
 * or three facts of twenty; the rest stay as they are.
 */
export function factsChange(before: Record<string, FactValue>, after: Record<string, FactValue>): { drop: string[]; write: Record<string, FactValue> } {
  const same = (a: FactValue | undefined, b: FactValue) => a === b || (typeof a === 'object' && a !== null && JSON.stringify(a) === JSON.stringify(b));
  const drop = Object.keys(before).filter((name) => !(name in after) || !same(before[name], after[name]!));
  const write = Object.fromEntries(Object.entries(after).filter(([name, value]) => !same(before[name], value)));
  return { drop, write };
}

/** The facts rows of one reader: its key bound as `?1`, its facts (JSON) as `?2`. */
export const READER_FACT_ROWS = factRowsOf('(SELECT ?1 AS k)', 'k', '?2');

const NONE: Lookup = { sql: 'SELECT NULL AS k WHERE 0', params: [], source: 'none' };
const facts = (where: string, params: SqlParam[]): Lookup =>
  ({ sql: `SELECT reader_key AS k FROM reader_facts WHERE name = ? AND ${where}`, params, source: 'facts' });

/** The lookup holding every reader the leaf matches, or null when the leaf cannot narrow (`exists` on tags, `ne` on score). */
export function leafLookup(fact: string, op: string, value: FactValue): Lookup | null {
  if (fact === 'tags') {
    if (op === 'exists' || op === 'ne') return null; // true for everyone
    if (op !== 'contains' || typeof value !== 'string') return NONE;
    return { sql: 'SELECT reader_key AS k FROM reader_tags WHERE tag = ?', params: [value], source: 'tags' };
  }
  if (fact === 'score') {
    if (op === 'exists' || (op === 'ne')) return null;
    if (op === 'in') {
      if (!Array.isArray(value)) return NONE;
      return { sql: `SELECT key AS k FROM readers WHERE score IN (SELECT value FROM json_each(?) WHERE type IN ${NUMBER_TYPES})`, params: [JSON.stringify(value)], source: 'score' };
    }
    if (typeof value !== 'number' || !(op === 'eq' || op in SQL_OP)) return NONE;
    return { sql: `SELECT key AS k FROM readers WHERE score ${op === 'eq' ? '=' : SQL_OP[op as keyof typeof SQL_OP]} ?`, params: [value], source: 'score' };
  }
  switch (op) {
    case 'exists': return facts("t IN ('n', 's', 't', 'f', 'a', 'o')", [fact]);
    case 'ne': return facts("t IN ('n', 's', 't', 'f', 'z', 'a', 'o')", [fact]); // present, JSON null included
    case 'eq':
      if (typeof value === 'number') return facts("t = 'n' AND v = ?", [fact, value]);
      if (typeof value === 'string') return facts("t = 's' AND v = ?", [fact, value]);
      if (typeof value === 'boolean') return facts(`t = '${value ? 't' : 'f'}'`, [fact]);
      return NONE;
    case 'contains': {
      // Any string fact may hold String(value) as a substring; an array fact must hold the element.
      if (typeof value === 'string') return facts("(t = 's' OR (t = 'es' AND v = ?))", [fact, value]);
      if (typeof value === 'number') return facts("(t = 's' OR (t = 'en' AND v = ?))", [fact, value]);
      if (typeof value === 'boolean') return facts(`t IN ('s', 'e${value ? 't' : 'f'}')`, [fact]);
      return facts("t = 's'", [fact]);
    }
    case 'in': {
      if (!Array.isArray(value)) return NONE;
      const list = JSON.stringify(value);
      return facts(`((t = 's' AND v IN (SELECT value FROM json_each(?) WHERE type = 'text'))
        OR (t = 'n' AND v IN (SELECT value FROM json_each(?) WHERE type IN ${NUMBER_TYPES})))`, [fact, list, list]);
    }
    case 'gt': case 'gte': case 'lt': case 'lte':
      if (typeof value !== 'number') return NONE;
      return facts(`t = 'n' AND v ${SQL_OP[op]} ?`, [fact, value]);
  }
  return NONE;
}

/**
 * The cheapest union of lookups that holds every reader the rule matches, by `cost` (how many rows
 * a lookup yields, capped by the caller; null when its index cannot be used, e.g. while it is being
 * backfilled). A leaf is its lookup; `all` takes its cheapest child; `any` the union of one per
 * child, so every child must have one; `not` has none (a negation is decided per reader, which is
 * what an estimate is for). Null: only a scan would do.
 */
export function planLookups(rule: Condition, cost: (l: Lookup) => number | null): { lookups: Lookup[]; cost: number } | null {
  const costs = new Map<string, number | null>();
  const costOf = (l: Lookup) => {
    const id = `${l.sql}\u0000${JSON.stringify(l.params)}`;
    if (!costs.has(id)) costs.set(id, l.source === 'none' ? 0 : cost(l));
    return costs.get(id)!;
  };
  const plan = (c: Condition): { lookups: Lookup[]; cost: number } | null => {
    if ('not' in c) return null;
    if ('all' in c) {
      let best: { lookups: Lookup[]; cost: number } | null = null;
      for (const child of c.all) {
        const p = plan(child);
        if (p && (!best || p.cost < best.cost)) best = p;
      }
      return best;
    }
    if ('any' in c) {
      const parts = c.any.map(plan);
      if (parts.some((p) => p === null)) return null;
      const lookups = parts.flatMap((p) => p!.lookups.filter((l) => l.source !== 'none'));
      return { lookups: lookups.length ? lookups : [NONE], cost: parts.reduce((n, p) => n + p!.cost, 0) };
    }
    if (c.fact in Object.prototype || /["\\]/.test(c.fact)) return null;
    const l = leafLookup(c.fact, c.op, c.value);
    if (!l) return null;
    const n = costOf(l);
    return n === null ? null : { lookups: [l], cost: n };
  };
  return plan(rule);
}

/** The union of lookups as one SELECT of distinct keys `k`. */
export function lookupUnion(lookups: readonly Lookup[]): { sql: string; params: SqlParam[] } {
  return { sql: lookups.map((l) => l.sql).join(' UNION '), params: lookups.flatMap((l) => l.params) };
}

/**
 * Whether the rule is nothing but score ranges (`all`/`any` of eq, in, gt, gte, lt, lte on `score`):
 * SQLite counts it from ranges of the score index, at any size. A negation or `ne` would walk the
 * whole index and read every row for the top matches (~0.3 s at 1M, measured), so it is not one.
 */
export function onlyScore(rule: Condition): boolean {
  if ('all' in rule) return rule.all.every(onlyScore);
  if ('any' in rule) return rule.any.every(onlyScore);
  if ('not' in rule) return false;
  return rule.fact === 'score' && ['eq', 'in', 'gt', 'gte', 'lt', 'lte'].includes(rule.op);
}
