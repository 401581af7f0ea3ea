// Pure helpers of `npm run import` (scripts/import.mjs): how a CSV row or a JSONL line becomes a
// Segment-shaped call, its deterministic messageId, batch packing within the edge's limits, the
// progress line and the summary. Tested in test/node/import-cli.test.ts.
import { createHash } from 'node:crypto';
import { MAX_BATCH_BYTES, MAX_BATCH_CALLS } from '../shared/server-api.ts';

export { MAX_BATCH_BYTES, MAX_BATCH_CALLS };

const EMAIL_COLUMNS = new Set(['email']);
const USER_ID_COLUMNS = new Set(['user_id', 'userid']);
/** A plain decimal (no leading zeros, no `+`, no exponent): zip codes and phone numbers stay text. */
const NUMBER = /^-?(0|[1-9]\d{0,14})(\.\d+)?$/;

/** A CSV cell's value: `true`/`false` → boolean, a plain decimal → number, anything else text. */
export function typedCell(text, { strings = false } = {}) {
  if (strings) return text;
  const lower = text.toLowerCase();
  if (lower === 'true') return true;
  if (lower === 'false') return false;
  if (NUMBER.test(text)) return Number(text);
  return text;
}

/**
 * One subscriber record (a CSV row, or a JSONL object that is not already a call) → an identify call.
 * `email` and `user_id`/`userId` (any case) name the reader; every other field is a trait; empty
 * cells and nulls are skipped. CSV cells are typed with `typedCell`; JSONL values keep their type.
 */
export function recordToCall(record, { fromCsv = false, strings = false } = {}) {
  const call = { type: 'identify', traits: {} };
  for (const [rawName, rawValue] of Object.entries(record)) {
    const name = rawName.trim();
    if (rawValue === null || rawValue === undefined) continue;
    const text = typeof rawValue === 'string' ? rawValue.trim() : null;
    if (text === '') continue;
    const key = name.toLowerCase();
    if (EMAIL_COLUMNS.has(key)) call.traits.email = String(text ?? rawValue);
    else if (USER_ID_COLUMNS.has(key)) call.userId = String(text ?? rawValue);
    else call.traits[name] = fromCsv && text !== null ? typedCell(text, { strings }) : rawValue;
  }
  return call;
}

/** A JSONL value → a call: an object with `type` is already Segment-shaped, any other object is a record. */
export function jsonToCall(value) {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return { error: 'each line must be a JSON object' };
  if ('type' in value) return { call: { ...value } };
  return { call: recordToCall(value) };
}

/** The same line imported into the same workspace always carries the same id: re-running counts once. */
export function messageIdFor(workspace, call) {
  const { messageId: _ignored, ...content } = call;
  return `imp_${createHash('sha256').update(`${workspace}\n${JSON.stringify(content)}`).digest('hex').slice(0, 40)}`;
}

const BATCH_OVERHEAD = Buffer.byteLength('{"batch":[]}');

/**
 * Packs calls into batches of at most `maxCalls` calls and `maxBytes` bytes of JSON body. Stateful
 * (rows arrive one by one): `add` returns the batch that must be sent first when the next call would
 * not fit, `flush` the last one. A call that alone exceeds the body limit is refused by `add`.
 */
export function batchPacker({ maxCalls = MAX_BATCH_CALLS, maxBytes = MAX_BATCH_BYTES } = {}) {
  let calls = [];
  let lines = [];
  let bytes = BATCH_OVERHEAD;
  const take = () => {
    const full = { calls, lines, bytes };
    calls = [];
    lines = [];
    bytes = BATCH_OVERHEAD;
    return full;
  };
  return {
    add(call, line) {
      const size = Buffer.byteLength(JSON.stringify(call));
      if (BATCH_OVERHEAD + size > maxBytes) return { tooLarge: true, ready: null };
      // `bytes` is the exact body length: each call after the first adds a comma.
      const ready = calls.length && (calls.length >= maxCalls || bytes + 1 + size > maxBytes) ? take() : null;
      bytes += (calls.length ? 1 : 0) + size;
      calls.push(call);
      lines.push(line);
      return { tooLarge: false, ready };
    },
    flush: () => (calls.length ? take() : null),
  };
}

/** The first line of a CSV record, from the line it ends on and its raw text (multi-line quoted fields). */
export function csvRecordLine(endLine, raw) {
  const body = raw.replace(/^(\r?\n)+/, '').replace(/\r?\n$/, '');
  return endLine - (body.match(/\n/g)?.length ?? 0);
}

/** `{ index, issues }` from the edge → a reason naming the field, e.g. `traits.email: must be an email address`. */
export const reasonOf = (issues) => issues.map((i) => `${i.path}: ${i.message}`).join('; ');

/** Seconds to wait before retrying: the edge's Retry-After if it gave one, else exponential with jitter, capped. */
export function retryDelayMs(attempt, retryAfter, now = Date.now(), random = Math.random) {
  if (retryAfter) {
    const seconds = Number(retryAfter);
    if (Number.isFinite(seconds) && seconds >= 0) return Math.min(seconds * 1000, 120_000);
    const at = Date.parse(retryAfter);
    if (Number.isFinite(at)) return Math.min(Math.max(at - now, 0), 120_000);
  }
  return Math.min(500 * 2 ** attempt, 30_000) * (0.75 + random() * 0.5);
}

export const fmt = (n) => Math.round(n).toLocaleString('en-US');
const duration = (ms) => {
  if (!Number.isFinite(ms) || ms < 0) return '—';
  const s = Math.ceil(ms / 1000);
  return s < 60 ? `${s}s` : s < 3600 ? `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s` : `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
};

/** `[████░░░░]  42%  4,200 / 10,000 rows  350/s  ETA 17s` — rate and ETA over this run's rows only. */
export function progressLine({ done, total, doneAtStart, started, now, width = 24 }) {
  const share = total ? Math.min(done / total, 1) : 1;
  const bar = '█'.repeat(Math.round(share * width)).padEnd(width, '░');
  const rate = (done - doneAtStart) / Math.max((now - started) / 1000, 0.001);
  const eta = rate > 0 ? ((total - done) / rate) * 1000 : NaN;
  return `[${bar}] ${String(Math.floor(share * 100)).padStart(3)}%  ${fmt(done)} / ${fmt(total)} rows  ${fmt(rate)}/s  ETA ${duration(eta)}`;
}

/** The closing summary: totals, then every refused row by line number and reason (the first `limit`). */
export function summaryText({ accepted, duplicates, rejected }, { limit = 100 } = {}) {
  const sorted = [...rejected].sort((a, b) => a.line - b.line);
  const lines = [`Accepted: ${fmt(accepted)}`, `Duplicates (already imported): ${fmt(duplicates)}`, `Rejected: ${fmt(sorted.length)}`];
  for (const r of sorted.slice(0, limit)) lines.push(`  line ${r.line}: ${r.reason}`);
  if (sorted.length > limit) lines.push(`  … and ${fmt(sorted.length - limit)} more`);
  return lines.join('\n');
}
