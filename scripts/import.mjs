#!/usr/bin/env node
// `npm run import -- --workspace <id> --file subscribers.csv|.jsonl [--edge URL] [--secret-key ss_sk_…]`
// Imports a publisher's existing subscribers through POST /v1/server/batch (README "Importing
// subscribers"). Every row gets a messageId derived from the workspace and the row, so running the
// command again never counts a row twice; Ctrl+C stops after the batches in flight and records the
// last fully-accepted line in `<file>.import-state.json`, and the same command resumes from there.
import { parseArgs } from 'node:util';
import { createReadStream, existsSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { extname } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parse } from 'csv-parse';
import {
  MAX_BATCH_CALLS, batchPacker, csvRecordLine, fmt, jsonToCall, messageIdFor, progressLine, reasonOf, recordToCall,
  retryDelayMs, summaryText,
} from './import-rows.mjs';

/** Under the 1,000-call limit: still 16 people per lane in the edge, a steadier progress bar, less to redo after a hard stop. */
const DEFAULT_BATCH = 250;

const USAGE = `Usage: npm run import -- --workspace <id> --file <subscribers.csv|.jsonl> [options]
  --edge URL          the edge (default $SHARPSEND_EDGE or http://127.0.0.1:8787)
  --secret-key KEY    the workspace's secret key ss_sk_<workspace>_… (default $SHARPSEND_SECRET_KEY)
  --format csv|jsonl  when the file name does not end in .csv, .jsonl or .ndjson
  --strings           keep every CSV cell as text (default: true/false → boolean, plain decimals → number)
  --batch-size N      calls per request, 1–${MAX_BATCH_CALLS} (default ${DEFAULT_BATCH}; requests also stay under 500 KB)
  --concurrency N     requests in flight, 1–8 (default 1; above 1, a subscriber's rows in different
                      batches may land in any order: use it when each subscriber has one row)
  --restart           ignore a saved resume point and start from the first row`;

class Fatal extends Error {}
/** Refused rows listed in the closing summary; more go to `<file>.rejected.csv`. */
const SUMMARY_LIMIT = 100;
const fail = (message, code = 2) => {
  process.stderr.write(`${progress.drawn ? '\n' : ''}import: ${message}\n`);
  process.exit(code);
};
const progress = { drawn: false, last: 0 };

let opts;
try {
  ({ values: opts } = parseArgs({
    options: {
      workspace: { type: 'string' },
      file: { type: 'string' },
      edge: { type: 'string', default: process.env.SHARPSEND_EDGE ?? 'http://127.0.0.1:8787' },
      'secret-key': { type: 'string', default: process.env.SHARPSEND_SECRET_KEY },
      format: { type: 'string' },
      strings: { type: 'boolean', default: false },
      'batch-size': { type: 'string', default: String(DEFAULT_BATCH) },
      concurrency: { type: 'string', default: '1' },
      restart: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  }));
} catch (e) {
  fail(`${e.message}\n${USAGE}`);
}
if (opts.help) {
  console.log(USAGE);
  process.exit(0);
}
if (!opts.workspace) fail(`missing --workspace <id>: the workspace to import into\n${USAGE}`);
if (!opts.file) fail(`missing --file <subscribers.csv|.jsonl>\n${USAGE}`);
if (!existsSync(opts.file) || !statSync(opts.file).isFile()) fail(`no such file: ${opts.file}`);
const secretKey = opts['secret-key'];
if (!secretKey) fail('missing secret key: pass --secret-key ss_sk_… or set SHARPSEND_SECRET_KEY (the key the workspace was created with)');
const keyWorkspace = /^ss_sk_([a-z0-9][a-z0-9_-]*)_[A-Za-z0-9-]{12,}$/.exec(secretKey)?.[1];
if (!keyWorkspace) fail('the secret key does not look like a workspace secret key (ss_sk_<workspace>_…)');
if (keyWorkspace !== opts.workspace) fail(`the secret key belongs to workspace "${keyWorkspace}", not "${opts.workspace}"`);
const ext = extname(opts.file).toLowerCase();
const format = opts.format ?? (ext === '.csv' ? 'csv' : ext === '.jsonl' || ext === '.ndjson' ? 'jsonl' : null);
if (format !== 'csv' && format !== 'jsonl') fail(`cannot tell the format of ${opts.file}: pass --format csv or --format jsonl`);
const batchSize = Number(opts['batch-size']);
if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > MAX_BATCH_CALLS) fail(`--batch-size must be 1–${MAX_BATCH_CALLS}`);
const concurrency = Number(opts.concurrency);
if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 8) fail('--concurrency must be 1–8');

const endpoint = `${opts.edge.replace(/\/+$/, '')}/v1/server/batch`;
const statePath = `${opts.file}.import-state.json`;
const stat = statSync(opts.file);
const fingerprint = { size: stat.size, mtimeMs: Math.floor(stat.mtimeMs) };

// ---- input: one record per data row, with the line it starts on --------------------------------

/** Yields `{ line, call }` or `{ line, error }` for every data row of the file, in order. */
async function* rows() {
  if (format === 'csv') {
    const parser = createReadStream(opts.file).pipe(parse({
      bom: true, columns: (header) => header.map((h) => String(h).trim()), info: true, raw: true,
      relax_column_count: true, skip_empty_lines: true,
    }));
    for await (const { record, raw, info } of parser) {
      const line = csvRecordLine(info.lines, raw);
      // A row longer than the header is usually an unquoted comma: its cells would land in the wrong traits.
      if (info.error && info.error.record.length > info.columns.length) {
        yield { line, error: `has ${info.error.record.length} cells but the header has ${info.columns.length} (an unquoted comma?)` };
        continue;
      }
      yield { line, call: recordToCall(record, { fromCsv: true, strings: opts.strings }) };
    }
    return;
  }
  let line = 0;
  for await (const text of createInterface({ input: createReadStream(opts.file), crlfDelay: Infinity })) {
    line++;
    if (!text.trim()) continue;
    let value;
    try {
      value = JSON.parse(text);
    } catch (e) {
      yield { line, error: `not valid JSON: ${e.message}` };
      continue;
    }
    const mapped = jsonToCall(value);
    yield mapped.error ? { line, error: mapped.error } : { line, call: mapped.call };
  }
}

// ---- resume state -------------------------------------------------------------------------------

function loadState() {
  const fresh = { workspace: opts.workspace, fingerprint, lastLine: 0, accepted: 0, duplicates: 0, rejected: [] };
  if (!existsSync(statePath)) return fresh;
  let saved;
  try {
    saved = JSON.parse(readFileSync(statePath, 'utf8'));
  } catch {
    process.stderr.write(`import: ${statePath} is unreadable; starting from the first row\n`);
    return fresh;
  }
  if (opts.restart) return fresh;
  if (saved.workspace !== opts.workspace || saved.fingerprint?.size !== fingerprint.size || saved.fingerprint?.mtimeMs !== fingerprint.mtimeMs) {
    process.stderr.write(`import: ${statePath} is from another workspace or an older version of the file; starting from the first row (rows imported before count as duplicates)\n`);
    return fresh;
  }
  return saved;
}

function saveState() {
  const tmp = `${statePath}.tmp`;
  writeFileSync(tmp, JSON.stringify(state));
  renameSync(tmp, statePath);
}

// ---- sending ------------------------------------------------------------------------------------

let note = '';
async function send(calls) {
  const body = JSON.stringify({ batch: calls });
  // A 503 stored part of the batch: on the retry those calls come back as duplicates. They were
  // this import's own, so they count as accepted, and only the rest as already imported.
  let storedBefore = 0;
  for (let attempt = 0; ; attempt++) {
    let res;
    try {
      res = await fetch(endpoint, { method: 'POST', headers: { authorization: `Bearer ${secretKey}`, 'content-type': 'application/json' }, body });
    } catch (e) {
      if (attempt >= 8) throw new Fatal(`could not reach the edge at ${endpoint}: ${e.cause?.message ?? e.message}`);
      note = `edge unreachable (${e.cause?.code ?? e.message}), retrying`;
      await sleep(retryDelayMs(attempt, null));
      continue;
    }
    const json = await res.json().catch(() => ({}));
    if (res.status === 202) {
      note = '';
      return storedBefore ? { ...json, accepted: json.accepted + storedBefore, duplicates: json.duplicates - storedBefore } : json;
    }
    if (res.status === 503 && typeof json.accepted === 'number') storedBefore += json.accepted;
    if (res.status === 429 || res.status >= 500) {
      if (attempt >= 12) throw new Fatal(`the edge kept answering ${res.status} (${json.error ?? 'no details'}); run the same command again later to resume`);
      const wait = retryDelayMs(attempt, res.headers.get('retry-after'));
      note = `edge answered ${res.status}, retrying in ${(wait / 1000).toFixed(1)}s`;
      await sleep(wait);
      continue;
    }
    if (res.status === 401) throw new Fatal('the edge asked for a secret key (401): pass --secret-key ss_sk_… or set SHARPSEND_SECRET_KEY');
    if (res.status === 403) {
      throw new Fatal(`the edge refused the secret key (403): it is not the secret key of workspace "${opts.workspace}" at ${opts.edge}. Check --secret-key / SHARPSEND_SECRET_KEY`);
    }
    const issues = (json.issues ?? []).map((i) => `${i.path}: ${i.message}`).join('; ');
    throw new Fatal(`the edge refused a batch (${res.status}): ${json.error ?? 'no details'}${issues ? ` — ${issues}` : ''}`);
  }
}

// ---- the run ------------------------------------------------------------------------------------

let stopping = false;
process.on('SIGINT', () => {
  if (stopping) process.exit(130); // second Ctrl+C: quit now; the state file holds the last settled batch
  stopping = true;
  process.stderr.write(`${progress.drawn ? '\n' : ''}Stopping after the batches in flight… (Ctrl+C again to quit at once)\n`);
  progress.drawn = false;
});

let state = loadState();
const resumed = state.lastLine > 0;

let total = 0;
let skipped = 0;
try {
  for await (const row of rows()) {
    if (stopping) break; // Ctrl+C while counting a big file: nothing sent yet, nothing to wait for
    total++;
    if (row.line <= state.lastLine) skipped++;
  }
} catch (e) {
  fail(`${opts.file} could not be read as ${format.toUpperCase()}: ${e.message}`, 1);
}

process.stderr.write(`Importing ${fmt(total)} rows of ${opts.file} into workspace "${opts.workspace}" through ${opts.edge}\n`);
if (resumed) process.stderr.write(`Resuming after line ${state.lastLine}: ${fmt(skipped)} rows were done before.\n`);

const started = Date.now();
let done = skipped;
function draw(final = false) {
  const now = Date.now();
  if (!final && now - progress.last < (process.stderr.isTTY ? 100 : 1000)) return;
  progress.last = now;
  const line = `${progressLine({ done, total, doneAtStart: skipped, started, now })}${note ? `  (${note})` : ''}`;
  if (process.stderr.isTTY) process.stderr.write(`\r${line}\x1b[K`);
  else process.stderr.write(`${line}\n`);
  progress.drawn = process.stderr.isTTY;
}


/** Batches sent, oldest first: the state advances only over batches that settled in order. */
const inflight = [];
async function settleOldest() {
  const entry = inflight.shift();
  const result = entry.calls.length ? await entry.promise : { accepted: 0, duplicates: 0, rejected: [] };
  state.accepted += result.accepted;
  state.duplicates += result.duplicates;
  for (const r of result.rejected) state.rejected.push({ line: entry.lines[r.index], reason: reasonOf(r.issues) });
  state.rejected.push(...entry.localRejects);
  state.lastLine = entry.lastLine;
  done += entry.calls.length + entry.localRejects.length;
  saveState();
  draw();
}

let localRejects = [];
let lastSeen = 0;
function submit(batch, lastLine) {
  const calls = batch?.calls ?? [];
  inflight.push({ calls, lines: batch?.lines ?? [], localRejects, lastLine, promise: calls.length ? send(calls) : null });
  // A rejection must not go unobserved while older batches settle; it surfaces in settleOldest.
  inflight.at(-1).promise?.catch(() => {});
  localRejects = [];
}

const packer = batchPacker({ maxCalls: batchSize });
const redraw = setInterval(() => draw(), 1000).unref(); // keeps rate, ETA and retry notes fresh during slow batches
try {
  draw(true);
  for await (const row of rows()) {
    if (row.line <= state.lastLine) continue;
    if (stopping) break;
    if (row.error) {
      localRejects.push({ line: row.line, reason: row.error });
    } else {
      row.call.messageId ??= messageIdFor(opts.workspace, row.call);
      const { tooLarge, ready } = packer.add(row.call, row.line);
      if (tooLarge) localRejects.push({ line: row.line, reason: 'is larger than the 500 KB a request may carry' });
      if (ready) submit(ready, lastSeen);
    }
    lastSeen = row.line;
    while (inflight.length >= concurrency) await settleOldest();
  }
  // Stopping: rows not yet sent (the open batch, refusals after the last submitted one) are redone on resume.
  if (!stopping) submit(packer.flush(), lastSeen);
  while (inflight.length) await settleOldest();
} catch (e) {
  if (!(e instanceof Fatal)) throw e;
  fail(`${e.message}${state.lastLine ? `\nRows up to line ${state.lastLine} are imported; the same command resumes after it.` : ''}`, 1);
}

clearInterval(redraw);
draw(true);
if (progress.drawn) process.stderr.write('\n');
if (stopping) {
  process.stderr.write(`Stopped. Rows up to line ${state.lastLine} are imported (${fmt(done)} of ${fmt(total)}); run the same command again to resume.\n`);
  console.log(summaryText(state, { limit: SUMMARY_LIMIT }));
  process.exit(130);
}
rmSync(statePath, { force: true });
console.log(`Done in ${((Date.now() - started) / 1000).toFixed(1)}s.`);
console.log(summaryText(state, { limit: SUMMARY_LIMIT }));
if (state.rejected.length > SUMMARY_LIMIT) {
  // The summary shows the first ones; the whole list goes beside the input for fixing and re-importing.
  const rejectedPath = `${opts.file}.rejected.csv`;
  const quote = (s) => `"${String(s).replaceAll('"', '""')}"`;
  writeFileSync(rejectedPath, `line,reason\n${[...state.rejected].sort((a, b) => a.line - b.line).map((r) => `${r.line},${quote(r.reason)}`).join('\n')}\n`);
  console.log(`Every refused row: ${rejectedPath}`);
}
