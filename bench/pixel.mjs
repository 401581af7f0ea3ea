#!/usr/bin/env node
// `npm run bench:pixel`: the open pixel's requests/s and p50/p99 latency, and in the same run and
// the same workerd the same figures for its floor (bench/floor: parse the path, answer the GIF,
// one call to a per-reader SQLite object storing one row in `waitUntil`) and for an empty Hono
// Worker (bench/baseline-worker.ts), so the ratios show what the pixel itself costs. The measured
// hits are repeat opens of readers synced at the warm-up: they wait the quiet interval
// (sync.quietResyncMs) and go to Customer.io together; the last row sets it to 0, so every open
// starts a sync cycle of its own. Readers get their tokens the way production does:
// people in (fake) Customer.io, the signature backfill, tokens read back from their attributes.
// Figures only, no assertions (2 local cores: compare the ratio, not the absolute numbers).
import { setTimeout as sleep } from 'node:timers/promises';
import { ADMIN_SECRET, fmt, load, ratio, roundsSummary, settled, startFakeCustomerIo, startWorkers, storageLabel } from './harness.mjs';
import { PROFILE, PROFILE_ROUND, startProfile } from './profile.mjs';

const READERS = Number(process.env.BENCH_READERS ?? 1000);
const HITS = Number(process.env.BENCH_HITS ?? 10_000);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 16);
// Measured rounds (empty Worker, floor, pixel, in turn): one round's ratio swings by a third between
// runs of the same code on these 2 cores, so the figure is the median of the rounds' ratios.
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 4);
// Long-time subscribers: a publisher's readers have opened many earlier newsletters (a reader keeps
// what each of its last 200 deliveries saw, shared/email/ledger.ts), which the measured rounds'
// readers, with one delivery each, do not show. This many of them are given that many deliveries.
const LONG_READERS = Number(process.env.BENCH_LONG_READERS ?? 200);
const LONG_DELIVERIES = Number(process.env.BENCH_LONG_DELIVERIES ?? 150);
const UA = 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_1_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148';

const fake = await startFakeCustomerIo();
const { mf, edgeUrl, baselineUrl, floorUrl } = await startWorkers({ customerIoUrl: fake.url });
const admin = { authorization: `Bearer ${ADMIN_SECRET}`, 'content-type': 'application/json' };
try {
  const created = await fetch(`${edgeUrl}/v1/admin/workspaces/bench`, {
    method: 'PUT', headers: admin,
    body: JSON.stringify({ allowedOrigins: ['https://bench.example'], customerio: { siteId: 'demo_site', trackKey: 'demo_track_key', appKey: 'demo_app_key' } }),
  });
  if (!created.ok) throw new Error(`workspace: ${created.status} ${await created.text()}`);
  const { secretKey } = await created.json();

  // Readers with tokens, as a publisher's existing subscribers get them.
  const people = Array.from({ length: READERS }, (_, i) => ({ id: `b${i}`, email: `reader${i}@bench.example` }));
  for (let i = 0; i < people.length; i += 1000) {
    await fetch(`${fake.url}/_fake/people`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ workspace: 'demo', people: people.slice(i, i + 1000) }) });
  }
  let state;
  do {
    state = await (await fetch(`${edgeUrl}/v1/admin/workspaces/bench/backfill`, { method: 'POST', headers: admin, body: JSON.stringify({ pageSize: 1000 }) })).json();
  } while (state.status !== 'done' || state.pending.operations > 0 && (await sleep(200), true));
  const tokens = (await (await fetch(`${fake.url}/_fake/people?workspace=demo`)).json()).people.map((p) => p.attributes.sharpsend_ptoken).filter(Boolean);
  if (tokens.length !== READERS) throw new Error(`expected ${READERS} tokens, got ${tokens.length}`);

  /** One pixel hit as an email client makes it: the reader's token, a campaign and a delivery. */
  const pixel = (origin, token, campaign, delivery, prefix = 'o') => () => [`${origin}/${prefix}/bench/${token}/${campaign}/${delivery}.gif`, { headers: { 'user-agent': UA } }];
  const hit = (origin, n, prefix = 'o') => pixel(origin, tokens[n % tokens.length], 101, `d${n % tokens.length}`, prefix);
  const hits = (origin, count = HITS, prefix = 'o') => Array.from({ length: count }, (_, n) => hit(origin, n, prefix));
  const sample = 'reader7@bench.example';
  const sampleOpens = async () => (await (await fetch(`${edgeUrl}/v1/server/reader?email=${encodeURIComponent(sample)}`, { headers: { authorization: `Bearer ${secretKey}` } })).json()).counters?.opens ?? 0;
  const waitForOpens = async (expected) => {
    const started = Date.now();
    let opens = 0;
    while (Date.now() - started < 60_000 && (opens = await sampleOpens()) < expected) await sleep(250);
    return opens;
  };

  // Warm up: one hit per reader on the edge and the floor, so every measured hit is a returning
  // reader's (its object exists), as most pixel hits are; the floor's new-reader figure is apart.
  await load(hits(baselineUrl, 500), CONCURRENCY);
  await load(hits(floorUrl, READERS), CONCURRENCY);
  await load(hits(edgeUrl, READERS), CONCURRENCY);
  await waitForOpens(1);
  // Alternate so drift hits all three alike.
  const runs = [];
  for (let round = 0; round < ROUNDS; round++) {
    const baseline = await load(hits(baselineUrl), CONCURRENCY);
    const stopFloor = PROFILE && round === PROFILE_ROUND ? await startProfile('floor', 'floor-pixel') : null;
    const floor = await load(hits(floorUrl), CONCURRENCY);
    await stopFloor?.();
    const stop = PROFILE && round === PROFILE_ROUND ? await startProfile('edge', 'pixel') : null;
    const pixel = await load(hits(edgeUrl), CONCURRENCY);
    await stop?.();
    runs.push({ baseline, floor, pixel });
  }
  const floorAwait = await load(hits(floorUrl, HITS, 'o-await'), CONCURRENCY);
  // After the rounds: these objects are never called again, and workerd evicts them 10 s on (a
  // checkpoint of each one's SQLite log, two fsyncs), which would land in a measured round.
  const floorNew = await load(Array.from({ length: READERS }, (_, n) => pixel(floorUrl, `new-${n}`, 101, 'd')), CONCURRENCY);

  // Long-time subscribers (the last LONG_READERS readers; the sample reader is not one): each opens
  // LONG_DELIVERIES newsletters of 120 campaigns first, then the same repeat opens as above.
  const longTokens = tokens.slice(-LONG_READERS);
  const longHit = (origin, n) => pixel(origin, longTokens[n % LONG_READERS], 101, `now${n % LONG_READERS}`);
  await load(Array.from({ length: LONG_READERS * LONG_DELIVERIES }, (_, n) => {
    const past = Math.floor(n / LONG_READERS);
    return pixel(edgeUrl, longTokens[n % LONG_READERS], `c${past % 120}`, `past${past}`);
  }), 64);
  // Their syncs (tags crossed on the way) are the seeding's, not the measured run's.
  const longSettleSeconds = await settled();
  const floorLong = await load(Array.from({ length: HITS }, (_, n) => longHit(floorUrl, n)), CONCURRENCY);
  const long = await load(Array.from({ length: HITS }, (_, n) => longHit(edgeUrl, n)), CONCURRENCY);

  // The same hits with every open starting a sync cycle of its own (no quiet or resync wait): what
  // a burst of first opens costs, each reader's identify going to Customer.io at once.
  const patched = await fetch(`${edgeUrl}/v1/admin/workspaces/bench`, { method: 'PATCH', headers: admin, body: JSON.stringify({ sync: { quietResyncMs: 0, minResyncMs: 0 } }) });
  if (!patched.ok) throw new Error(`patch: ${patched.status} ${await patched.text()}`);
  await load(hits(edgeUrl, READERS), CONCURRENCY);
  const floorEager = await load(hits(floorUrl), CONCURRENCY);
  const eager = await load(hits(edgeUrl), CONCURRENCY);

  // Recording happens after the answer: wait for a sample reader to show every open it was sent.
  const countFor = (n) => Array.from({ length: n }, (_, i) => i).filter((i) => i % READERS === 7).length;
  const perReader = 2 * countFor(READERS) + (ROUNDS + 1) * countFor(HITS);
  const drainStarted = Date.now();
  const opens = await waitForOpens(perReader);
  const drainSeconds = (Date.now() - drainStarted) / 1000;
  const email = await (await fetch(`${edgeUrl}/v1/admin/workspaces/bench/email`, { headers: admin })).json();

  const row = (name, r, floor, empty) => ({
    what: name, requests: r.requests, 'req/s': fmt(r.perSecond), 'p50 ms': fmt(r.p50, 2), 'p99 ms': fmt(r.p99, 2),
    'req/s ÷ floor': floor ? ratio(r.perSecond, floor.perSecond) : '', 'req/s ÷ empty': empty ? ratio(r.perSecond, empty.perSecond) : '',
    'p99 ÷ empty p99': empty ? ratio(r.p99, empty.p99) : '', 'p99 ÷ floor p99': floor ? ratio(r.p99, floor.p99) : '', 'workerd CPU ms/hit': r.cpuMsPerRequest === null ? '' : fmt(r.cpuMsPerRequest, 2), errors: r.errors,
  });
  console.log(`\nPixel benchmark: ${fmt(HITS)} hits per run over ${fmt(READERS)} readers (objects exist), ${CONCURRENCY} in flight, one workerd (Miniflare), direct sockets, ${storageLabel()}`);
  console.log('The floor answers the GIF and stores one row in waitUntil (the pixel\'s contract); "÷ floor" is over the floor run just before, "÷ empty" over the empty Hono Worker run just before.\n');
  const b = runs.at(-1);
  console.table([
    ...runs.flatMap((r, i) => [
      row(`empty Hono Worker, round ${i + 1}`, r.baseline),
      row(`floor: returning reader, round ${i + 1}`, r.floor, null, r.baseline),
      row(`pixel GET /o/…gif, round ${i + 1}`, r.pixel, r.floor, r.baseline),
    ]),
    row(`floor: new reader (object created), ${fmt(READERS)} hits`, floorNew, null, b.baseline),
    row('floor: returning reader, answer after the store', floorAwait, null, b.baseline),
    row(`floor: returning reader, ${fmt(LONG_READERS)} readers`, floorLong, null, b.baseline),
    row(`pixel, ${fmt(LONG_READERS)} long-time subscribers (${fmt(LONG_DELIVERIES)} deliveries each)`, long, floorLong, b.baseline),
    row('floor: returning reader (before the next)', floorEager, null, b.baseline),
    row('pixel, every open synced at once (quiet and resync waits 0)', eager, floorEager, b.baseline),
  ]);
  console.log([
    roundsSummary('pixel ÷ floor req/s', runs.map((r) => r.pixel.perSecond / r.floor.perSecond)),
    roundsSummary('pixel ÷ empty Worker req/s', runs.map((r) => r.pixel.perSecond / r.baseline.perSecond)),
    roundsSummary('pixel p99 ÷ empty Worker p99', runs.map((r) => r.pixel.p99 / r.baseline.p99)),
    roundsSummary('floor p99 ÷ empty Worker p99', runs.map((r) => r.floor.p99 / r.baseline.p99)),
  ].join('\n') + `\n(medians of ${ROUNDS} rounds, each ratio over the runs of its own round)`);
  console.log(`long-time subscribers: seeded, then ${fmt(longSettleSeconds, 1)} s for workerd to go idle before their rows`);
  console.log(`recorded after the answer: sample reader has ${opens} open(s) of ${perReader} sent, the last ${fmt(drainSeconds, 1)} s after the answers; refused hits: ${JSON.stringify(email.rejected)}`);
} finally {
  await mf.dispose();
  await fake.close();
}
