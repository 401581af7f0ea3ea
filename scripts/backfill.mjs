#!/usr/bin/env node
// `npm run backfill -- --workspace <id> [--edge http://127.0.0.1:8787] [--admin-secret …] [--page-size 1000] [--expected N] [--restart]`
// Gives every person already in the workspace's Customer.io the signed token attribute the email
// pixel and links need. The Worker does the work (App API paging within its limit, writes through
// the throttled sync); this command drives it one page at a time, shows progress and an ETA, and
// can be stopped at any time: the cursor is kept in the Worker, so running it again resumes.
import { parseArgs } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { duration, fmt, progressLine } from './backfill-progress.mjs';

const { values: opts } = parseArgs({
  options: {
    workspace: { type: 'string' },
    edge: { type: 'string', default: process.env.SHARPSEND_EDGE ?? 'http://127.0.0.1:8787' },
    'admin-secret': { type: 'string', default: process.env.SHARPSEND_ADMIN_SECRET ?? 'dev-admin-secret' },
    'page-size': { type: 'string', default: '1000' },
    expected: { type: 'string' },
    restart: { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  },
});
if (opts.help || !opts.workspace) {
  console.log('Usage: npm run backfill -- --workspace <id> [--edge URL] [--admin-secret S] [--page-size 1..1000] [--expected N] [--restart]');
  process.exit(opts.help ? 0 : 2);
}

const base = `${opts.edge.replace(/\/+$/, '')}/v1/admin/workspaces/${encodeURIComponent(opts.workspace)}/backfill`;
const headers = { authorization: `Bearer ${opts['admin-secret']}`, 'content-type': 'application/json' };
const expected = opts.expected ? Number(opts.expected) : null;
const tty = process.stdout.isTTY;

async function request(method, body) {
  const res = await fetch(base, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const json = await res.json().catch(() => ({}));
  if (!res.ok) throw new Error(`${method} ${base}: ${res.status} ${json.error ?? ''} ${(json.issues ?? []).map((i) => `${i.path}: ${i.message}`).join('; ')}`);
  return json;
}

let last = '';
function show(line, final = false) {
  if (tty) process.stdout.write(`\r${line.padEnd(last.length)}`);
  else if (final || Date.now() - (show.at ?? 0) > 2000) { console.log(line); show.at = Date.now(); }
  last = line;
}

let state;
process.on('SIGINT', () => {
  if (tty) process.stdout.write('\n');
  console.log(`Stopped after ${fmt(state?.pages ?? 0)} page(s). Run the same command again to resume where it stopped.`);
  process.exit(130);
});

const started = Date.now();
console.log(`Backfilling the token attribute for workspace "${opts.workspace}" through ${opts.edge}`);
const prior = await request('GET');
if (prior.status === 'running' && !opts.restart) console.log(`Resuming: ${fmt(prior.people)} people already walked in ${fmt(prior.pages)} page(s).`);
if (prior.status === 'done' && !opts.restart) console.log('A previous run finished; use --restart to walk everyone again (e.g. after a key rotation).');

state = await request('POST', { pageSize: Number(opts['page-size']), ...(opts.restart ? { restart: true } : {}) });
const walkedAtStart = opts.restart ? 0 : (prior.enqueued ?? 0);
while (state.status !== 'done') {
  if (state.retryAfterMs) {
    show(`Customer.io asked to wait ${duration(state.retryAfterMs)} (${state.lastError ?? 'limited'})…`);
    await sleep(state.retryAfterMs);
  }
  show(progressLine({ ...state, enqueued: state.enqueued - walkedAtStart }, { started, now: Date.now(), expectedTotal: expected }));
  state = await request('POST', {});
}
// The walk is over; the outbox shards are still writing at the workspace's Track API pace.
for (;;) {
  const now = await request('GET');
  state = now;
  show(progressLine({ ...now, enqueued: now.enqueued - walkedAtStart }, { started, now: Date.now(), expectedTotal: expected }));
  if (now.pending.operations === 0) break;
  await sleep(500);
}
show(progressLine({ ...state, enqueued: state.enqueued - walkedAtStart }, { started, now: Date.now(), expectedTotal: expected }), true);
if (tty) process.stdout.write('\n');
console.log(`
Done in ${duration(Date.now() - started)}.
  people walked     ${fmt(state.people)} (${fmt(state.pages)} App API page(s) of ${fmt(state.pageSize)})
  tokens written    ${fmt(state.enqueued)}
  skipped           ${fmt(state.skipped)} (no id or email)
Check the outbox with GET ${opts.edge}/v1/admin/workspaces/${opts.workspace}/sync (dead letters, if any, are listed there).`);
