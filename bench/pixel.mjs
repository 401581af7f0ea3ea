#!/usr/bin/env node
// `npm run bench:pixel`: the open pixel's requests/s and p50/p99 latency, and in the same run and
// the same workerd the same figures for an empty Hono Worker (bench/baseline-worker.ts), so the
// ratio shows what the pixel itself costs. Readers get their tokens the way production does:
// people in (fake) Customer.io, the signature backfill, tokens read back from their attributes.
// Figures only, no assertions (2 local cores: compare the ratio, not the absolute numbers).
import { createFakeCustomerIo } from '../test/fake-customerio/server.ts';
import { ADMIN_SECRET, fmt, load, startEdgeAndBaseline } from './harness.mjs';

const READERS = Number(process.env.BENCH_READERS ?? 1000);
const HITS = Number(process.env.BENCH_HITS ?? 10_000);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 16);
const UA = 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_1_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148';

const fake = await createFakeCustomerIo({ port: 0 });
const { mf, edgeUrl, baselineUrl } = await startEdgeAndBaseline({ customerIoUrl: fake.url });
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
  } while (state.status !== 'done' || state.pending.operations > 0 && (await new Promise((r) => setTimeout(r, 200)), true));
  const tokens = (await (await fetch(`${fake.url}/_fake/people?workspace=demo`)).json()).people.map((p) => p.attributes.sharpsend_ptoken).filter(Boolean);
  if (tokens.length !== READERS) throw new Error(`expected ${READERS} tokens, got ${tokens.length}`);

  const hit = (origin, n) => () => [`${origin}/o/bench/${tokens[n % tokens.length]}/101/d${n % tokens.length}.gif`, { headers: { 'user-agent': UA } }];
  const hits = (origin, offset = 0) => Array.from({ length: HITS }, (_, n) => hit(origin, n + offset));

  // Warm up both, then alternate baseline and pixel runs so drift hits both alike.
  await load(hits(baselineUrl).slice(0, 500), CONCURRENCY);
  await load(hits(edgeUrl).slice(0, 500), CONCURRENCY);
  const baseline = await load(hits(baselineUrl), CONCURRENCY);
  const pixel = await load(hits(edgeUrl), CONCURRENCY);
  const baseline2 = await load(hits(baselineUrl), CONCURRENCY);
  const pixel2 = await load(hits(edgeUrl), CONCURRENCY);

  // Recording happens after the answer: wait for a sample reader to show its opens.
  const sample = 'reader7@bench.example';
  const perReader = Math.floor((500 + 2 * HITS) / READERS) + ((500 % READERS) > 7 ? 1 : 0);
  const waitStarted = Date.now();
  let opens = 0;
  while (Date.now() - waitStarted < 60_000) {
    const r = await (await fetch(`${edgeUrl}/v1/server/reader?email=${encodeURIComponent(sample)}`, { headers: { authorization: `Bearer ${secretKey}` } })).json();
    opens = r.counters?.opens ?? 0;
    if (opens >= perReader) break;
    await new Promise((res) => setTimeout(res, 250));
  }
  const email = await (await fetch(`${edgeUrl}/v1/admin/workspaces/bench/email`, { headers: admin })).json();

  const row = (name, r) => ({ what: name, requests: r.requests, 'req/s': fmt(r.perSecond), 'p50 ms': fmt(r.p50, 2), 'p99 ms': fmt(r.p99, 2), errors: r.errors });
  console.log(`\nPixel benchmark: ${fmt(HITS)} hits per run over ${fmt(READERS)} readers, ${CONCURRENCY} in flight, one workerd (Miniflare), direct sockets\n`);
  console.table([row('empty Hono Worker', baseline), row('pixel GET /o/…gif', pixel), row('empty Hono Worker (again)', baseline2), row('pixel (again)', pixel2)]);
  const ratio = ((pixel.perSecond + pixel2.perSecond) / (baseline.perSecond + baseline2.perSecond)) * 100;
  console.log(`pixel throughput = ${fmt(ratio, 1)}% of the empty Worker's (mean of two runs each)`);
  console.log(`recorded after the answer: sample reader has ${opens} open(s) of ${perReader} sent; refused hits: ${JSON.stringify(email.rejected)}`);
} finally {
  await mf.dispose();
  await fake.close();
}
