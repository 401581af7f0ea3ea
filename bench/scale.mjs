#!/usr/bin/env node
// `npm run bench:scale`: the panel's ReaderDirectory at a publisher's size. One run seeds two
// workspaces' directories, 10,000 readers and BENCH_SCALE_READERS (default 1,000,000), and prints
// side by side the p50/p95 of each panel call, the time to re-evaluate one segment over every
// reader, and the time to mirror a ~100,000-member segment into the fake Customer.io at its default
// limits (100 Track calls/s, of which the mirror's share is 5 %).
//
// Seeding: straight into the directory object through its `upsertReaders` RPC (the call the sync
// shards make), 500 synthetic readers a call, from Node through Miniflare's Durable Object proxy
// (`mf.getDurableObjectNamespace`): no bench-only route in the Worker, and no million reader objects.
// Two segments exist before seeding, so each batch also pays for keeping memberships current.
// The panel calls go over HTTP to the Worker's own socket with a signed-in editor session.
//
// Memory: Miniflare runs ONE workerd process for every Worker and object of the run, so the figure
// for the directory is that process's resident set (VmRSS in /proc/<pid>/status) read before the
// seed, after it and after the panel calls: the growth during a size's run is what that size's
// directory (its isolate's JS heap plus SQLite's page cache; the database file itself is not
// resident) added. Beside it, SQLite's own size of the object's database (`databaseSize`, on disk,
// not memory). Cloudflare stops an object whose isolate passes 128 MB; the target is 64 MB.
import { setTimeout as sleep } from 'node:timers/promises';
import { readFileSync, readdirSync } from 'node:fs';
import { createFakeCustomerIo } from '../test/fake-customerio/server.ts';
import { randomReader, rng } from '../edge/src/panel/directory/random-readers.ts';
import { matches } from '../shared/tag-rules.ts';
import { segmentFacts } from '../shared/panel.ts';
import { createServer } from 'node:net';
import { ADMIN_SECRET, fmt, startEdgeAndBaseline } from './harness.mjs';
import { heapAfterGc } from './profile.mjs';

const BIG = Number(process.env.BENCH_SCALE_READERS ?? 1_000_000);
const SMALL = 10_000;
const SAMPLES = Number(process.env.BENCH_SCALE_SAMPLES ?? 20);
const MIRROR = process.env.BENCH_SCALE_MIRROR !== '0';
const BATCH = 500;
const EDITOR_KEY = 'bench-editor-key-0001';
const TODAY = Math.floor(Date.now() / 86_400_000);

const fake = await createFakeCustomerIo({ port: 0 });
// A free port for workerd's inspector (other runs on this machine may hold the default one).
const inspectorPort = await new Promise((resolve) => { const srv = createServer().listen(0, '127.0.0.1', () => { const { port } = srv.address(); srv.close(() => resolve(port)); }); });
const { mf, edgeUrl } = await startEdgeAndBaseline({ customerIoUrl: fake.url, inspectorPort });
/** The edge isolate's live JS heap after a full GC, in MB (null if the inspector did not answer). */
const heapMb = async () => { try { return (await heapAfterGc('edge', inspectorPort)).used / 1048576; } catch { return null; } };
/** The heap after a full GC, then workerd's RSS (read after that GC, so garbage V8 returned is not counted). */
const memory = async () => { const heap = await heapMb(); return { ...workerdMemory(), heap }; };
const directories = await mf.getDurableObjectNamespace('DIRECTORY', 'edge');

async function workspace(id) {
  const res = await fetch(`${edgeUrl}/v1/admin/workspaces/${id}`, {
    method: 'PUT', headers: { authorization: `Bearer ${ADMIN_SECRET}`, 'content-type': 'application/json' },
    body: JSON.stringify({ allowedOrigins: ['https://bench.example'], editorKey: EDITOR_KEY, customerio: { siteId: 'demo_site', trackKey: 'demo_track_key', appKey: 'demo_app_key' } }),
  });
  if (!res.ok) throw new Error(`workspace ${id}: ${res.status} ${await res.text()}`);
  const session = await fetch(`${edgeUrl}/v1/panel/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ workspace: id, editorKey: EDITOR_KEY }) });
  if (!session.ok) throw new Error(`session ${id}: ${session.status} ${await session.text()}`);
  const cookie = session.headers.get('set-cookie').split(';')[0];
  const { csrfToken } = await session.json();
  return async (method, path, body) => {
    const r = await fetch(`${edgeUrl}/v1/panel/workspaces/${id}${path}`, {
      method, headers: { cookie, 'x-csrf-token': csrfToken, 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await r.text();
    if (!r.ok) throw new Error(`${method} ${path}: ${r.status} ${text.slice(0, 300)}`);
    return JSON.parse(text);
  };
}

/** The workerd child Miniflare started: the descendant of this process whose command is `workerd`. */
function workerdPid() {
  const parent = new Map();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      const close = stat.lastIndexOf(')');
      parent.set(Number(d), { ppid: Number(stat.slice(close + 2).split(' ')[1]), comm: stat.slice(stat.indexOf('(') + 1, close) });
    } catch { /* gone */ }
  }
  const descends = (pid) => { for (let p = pid, i = 0; p && i < 20; p = parent.get(p)?.ppid, i++) if (p === process.pid) return true; return false; };
  return [...parent].find(([pid, { comm }]) => comm === 'workerd' && descends(pid))?.[0] ?? null;
}
const WORKERD = workerdPid();
/** VmRSS (now) and VmHWM (peak so far) of workerd, in MB; null off Linux. */
function workerdMemory() {
  if (WORKERD === null) return null;
  const status = readFileSync(`/proc/${WORKERD}/status`, 'utf8');
  const kb = (field) => Number(status.match(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm'))?.[1] ?? NaN);
  // RssAnon: heaps (V8, SQLite's page cache, allocations); RssFile + RssShmem: mapped files (the
  // database and its WAL index, which the kernel may drop and re-read).
  return { rss: kb('VmRSS') / 1024, peak: kb('VmHWM') / 1024, anon: kb('RssAnon') / 1024, file: (kb('RssFile') + kb('RssShmem')) / 1024 };
}

const pct = (xs, p) => { const s = [...xs].sort((a, b) => a - b); return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]; };
async function timed(fn) { const t = performance.now(); const v = await fn(); return [performance.now() - t, v]; }
async function sample(fn) {
  await fn(); // warm
  const times = [];
  for (let i = 0; i < SAMPLES; i++) times.push((await timed(() => fn(i)))[0]);
  return { p50: pct(times, 50), p95: pct(times, 95) };
}
async function until(check, timeoutMs, what) {
  const started = performance.now();
  for (;;) {
    const v = await check();
    if (v) return performance.now() - started;
    if (performance.now() - started > timeoutMs) throw new Error(`timed out: ${what}`);
    await sleep(250);
  }
}

/** The previews timed, each also counted by brute force in Node over the readers seeded, to check exact and estimated answers. */
const PREVIEWS = {
  'segment preview (tag + facts)': { all: [{ fact: 'tags', op: 'contains', value: 'crypto_enthusiast' }, { fact: 'read_share.crypto', op: 'gte', value: 0.4 }, { not: { fact: 'trait.tier', op: 'eq', value: 'basic' } }] },
  'segment preview (score only)': { fact: 'score', op: 'gte', value: 0.9 },
  'segment preview (narrow fact: odd key ≥ 9.9)': { fact: 'odd key', op: 'gte', value: 9.9 },
  'segment preview (facts: signed up 3 days ago, 4+ reads)': { all: [{ fact: 'days_since_signup', op: 'eq', value: 3 }, { fact: 'reads', op: 'gte', value: 4 }] },
  'segment preview (negation: reads ≠ 3)': { not: { fact: 'reads', op: 'eq', value: 3 } },
};

async function measure(size) {
  const id = `scale${size}`;
  const api = await workspace(id);
  const stub = directories.get(directories.idFromName(id));
  await api('POST', '/segments', { name: 'Engaged high value', rule: { all: [{ fact: 'tags', op: 'contains', value: 'high_value' }, { fact: 'score', op: 'gte', value: 0.3 }] } });
  const factSegment = await api('POST', '/segments', { name: 'Premium or heavy readers', rule: { any: [{ fact: 'trait.tier', op: 'in', value: ['premium', 'pro'] }, { fact: 'reads', op: 'gte', value: 6 }] } });

  const memBefore = await memory();
  const random = rng(size);
  const truth = Object.fromEntries(Object.keys(PREVIEWS).map((k) => [k, 0]));
  const seedStarted = performance.now();
  for (let i = 0; i < size; i += BATCH) {
    const batch = Array.from({ length: Math.min(BATCH, size - i) }, (_, j) => randomReader(random, i + j, TODAY));
    for (const r of batch) for (const [name, rule] of Object.entries(PREVIEWS)) if (matches(rule, segmentFacts(r))) truth[name]++;
    await stub.upsertReaders(id, batch);
    if ((i / BATCH) % 200 === 199) process.stdout.write(`  ${id}: ${fmt(i + BATCH)} readers seeded (${fmt((i + BATCH) / ((performance.now() - seedStarted) / 1000))}/s)\n`);
  }
  const seedSeconds = (performance.now() - seedStarted) / 1000;
  const memSeeded = await memory();
  // The mirror of the two segments made before seeding runs in the background; let it settle so it does not colour the timings.
  await until(async () => (await api('GET', '/segments')).segments.every((s) => s.pending === 0 && !s.evaluating), 15 * 60_000, 'initial mirror');

  const previews = {};
  const calls = {
    'overview (+ tag history)': await sample(() => api('GET', '/overview')),
    'tag history alone (RPC from Node)': await sample(() => stub.tagHistory(30)),
    // The same answer size at both sizes, so the figures compare the index, not the page: an address
    // typed up to its @ (one reader), and a short prefix (a full page of 50 at either size). A bare
    // `r<n>` would match 1 reader at 10,000 but 111 at 1,000,000 (r<n>, r<n>0…, r<n>00…).
    'reader search (address up to @, 1 match)': await sample((i) => api('GET', `/readers?q=r${(i * 7919) % size}@`)),
    'reader search (short prefix, page of 50)': await sample((i) => api('GET', `/readers?q=r${1 + (i % 9)}`)),
    'segment list': await sample(() => api('GET', '/segments')),
    'segment detail (top 100)': await sample(() => api('GET', `/segments/${factSegment.id}`)),
  };
  for (const [name, rule] of Object.entries(PREVIEWS)) {
    calls[name] = await sample(() => api('POST', '/segments/preview', { rule }));
    previews[name] = { ...(await api('POST', '/segments/preview', { rule })), truth: truth[name] };
  }
  Object.assign(calls, {
    'members page (1,000)': await sample((i) => api('GET', `/segments/${factSegment.id}/members?limit=1000&after=${encodeURIComponent(i ? `e:r${(i * 104729) % size}` : '')}`)),
  });

  const memCalls = await memory();
  const databaseBytes = (await stub.usage()).databaseBytes;

  // A rule change walks every reader in chunks by alarm.
  const [, updated] = await timed(() => api('PUT', `/segments/${factSegment.id}`, { name: 'Premium or heavy readers', rule: { any: [{ fact: 'trait.tier', op: 'in', value: ['premium'] }, { fact: 'reads', op: 'gte', value: 7 }] } }));
  const reevalMs = updated.evaluating ? await until(async () => !(await api('GET', `/segments/${factSegment.id}`)).segment.evaluating, 30 * 60_000, 're-evaluation') : 0;
  await until(async () => (await api('GET', '/segments')).segments.every((s) => s.pending === 0), 15 * 60_000, 'mirror after re-evaluation');

  // A ~100,000-member segment mirrored from scratch (members ≈ size × threshold; scores are uniform).
  let mirror = null;
  if (MIRROR) {
    const threshold = Math.min(1, Math.round((100_000 / size) * 100) / 100);
    const started = performance.now();
    const created = await api('POST', '/segments', { name: 'About 100k', rule: { fact: 'score', op: 'lt', value: threshold } });
    await until(async () => {
      const s = (await api('GET', `/segments/${created.id}`)).segment;
      return !s.evaluating && s.cioSegmentId !== null && s.pending === 0 && s.mirrored === s.count;
    }, 30 * 60_000, 'mirror of the big segment');
    const s = (await api('GET', `/segments/${created.id}`)).segment;
    mirror = { members: s.count, seconds: (performance.now() - started) / 1000 };
  }
  return { size, seedSeconds, calls, previews, reevalMs, mirror, memory: { before: memBefore, seeded: memSeeded, calls: memCalls }, databaseBytes };
}

try {
  const results = [];
  for (const size of [SMALL, BIG]) {
    console.log(`seeding ${fmt(size)} readers…`);
    results.push(await measure(size));
  }
  const [small, big] = results;
  console.log(`\nReaderDirectory: ${fmt(small.size)} vs ${fmt(big.size)} readers (one workerd, Miniflare; ${SAMPLES} samples per call, sequential, HTTP to the Worker's socket)`);
  console.table(Object.keys(small.calls).map((name) => ({
    call: name,
    [`p50 ms @${fmt(small.size)}`]: fmt(small.calls[name].p50, 1), [`p95 ms @${fmt(small.size)}`]: fmt(small.calls[name].p95, 1),
    [`p50 ms @${fmt(big.size)}`]: fmt(big.calls[name].p50, 1), [`p95 ms @${fmt(big.size)}`]: fmt(big.calls[name].p95, 1),
  })));
  console.log('\nPreview answers: exact, or an estimate from a random sample with its 95 % margin; "true" is counted in Node over the readers seeded.');
  console.table(results.flatMap((r) => Object.entries(r.previews).map(([name, p]) => ({
    readers: fmt(r.size), preview: name.replace('segment preview ', ''),
    answer: p.estimate ? `≈ ${fmt(p.count)} ± ${fmt(p.margin)} (estimate, ${fmt(p.sampled)} sampled)` : `${fmt(p.count)} (exact)`,
    true: fmt(p.truth),
    'within margin': p.estimate ? String(Math.abs(p.count - p.truth) <= p.margin) : String(p.count === p.truth),
  }))));
  console.table(results.map((r) => ({
    readers: fmt(r.size),
    'seed readers/s (2 segments live)': fmt(r.size / r.seedSeconds),
    're-evaluate one segment s': fmt(r.reevalMs / 1000, 1),
    'mirror: members': r.mirror ? fmt(r.mirror.members) : '-',
    'mirror: seconds (rule → all in Customer.io)': r.mirror ? fmt(r.mirror.seconds, 1) : '-',
  })));
  const mb = (n) => (n === undefined || n === null || Number.isNaN(n) ? '-' : fmt(n, 1));
  console.log(`\nMemory (target: the directory object under 64 MB; Cloudflare stops an object at 128 MB). workerd pid ${WORKERD ?? 'not found'}: one process for the whole run,`);
  console.log('so "growth" is what this size added: its isolate\'s JS heap and SQLite page cache. The database size is SQLite\'s file (on disk, not memory).');
  console.log('The JS heap is V8\'s live heap of the edge isolate after a forced full GC (inspector: HeapProfiler.collectGarbage, Runtime.getHeapUsage),');
  console.log('before seeding → after seeding → after the panel calls: what the directory really holds, where RSS also counts garbage V8 has not returned yet.');
  console.table(results.map((r) => ({
    readers: fmt(r.size),
    'JS heap after GC MB (edge isolate: Worker + objects)': `${mb(r.memory.before.heap)} → ${mb(r.memory.seeded.heap)} → ${mb(r.memory.calls.heap)}`,
    'workerd RSS before MB': mb(r.memory.before?.rss),
    'growth during seed MB': mb(r.memory.seeded && r.memory.seeded.rss - r.memory.before.rss),
    'growth seed + panel calls MB': mb(r.memory.calls && r.memory.calls.rss - r.memory.before.rss),
    'of which heap (RssAnon) MB': mb(r.memory.calls && r.memory.calls.anon - r.memory.before.anon),
    'of which mapped files MB': mb(r.memory.calls && r.memory.calls.file - r.memory.before.file),
    'workerd peak RSS MB (VmHWM)': mb(r.memory.calls?.peak),
    'target MB': 64,
    'SQLite database MB (databaseSize)': mb(r.databaseBytes / 1048576),
  })));
  const rates = (await (await fetch(`${fake.url}/_fake/rates`)).json()).workspaces.demo?.track;
  if (rates) console.log(`fake Customer.io Track API: peak ${rates.peakReceived} calls/s received (limit 100), ${rates.rejected ?? 0} rejected`);
} finally {
  await mf.dispose();
  await fake.close();
}
