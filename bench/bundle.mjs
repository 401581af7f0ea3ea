#!/usr/bin/env node
// `npm run bench:bundle`: the Worker bundle as `wrangler deploy` builds it (raw and gzip bytes),
// what its bytes are made of (by package / folder, from an esbuild metafile of the same entry),
// and startup CPU from `wrangler check startup` for the edge and for an empty Hono Worker
// (bench/baseline-worker.ts) in the same run. Figures only.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { build } from 'esbuild';
import { fmt } from './harness.mjs';
import { bundleBytes, targetVerdict } from './worker-size.mjs';

const OUT = resolve('bench/out/bundle');
mkdirSync(OUT, { recursive: true });
const env = { ...process.env, WRANGLER_SEND_METRICS: 'false' };

const dry = spawnSync('npx', ['wrangler', 'deploy', '--dry-run', '--outdir', OUT], { stdio: ['ignore', 'ignore', 'inherit'], env });
if (dry.status !== 0) throw new Error('wrangler deploy --dry-run failed (run `npm run build:assets` first)');
const bundle = bundleBytes(`${OUT}/index.js`);
console.log(`\nWorker bundle: ${fmt(bundle.raw / 1024)} KB, ${fmt(bundle.gzip / 1024)} KB gzip (${targetVerdict(bundle.gzip)})`);

// Where the bytes come from: the same entry bundled by esbuild with a metafile, minified when
// wrangler.toml says so (as `wrangler deploy` then does), so the shares are of the deployed bytes.
const minify = /^minify\s*=\s*true\b/m.test(readFileSync('wrangler.toml', 'utf8'));
const NODE_BUILTINS = ['crypto', 'http', 'https', 'url', 'events', 'stream', 'buffer', 'util', 'zlib', 'querystring', 'path', 'fs', 'os'];
const meta = await build({
  entryPoints: ['edge/src/index.ts'], bundle: true, format: 'esm', platform: 'neutral', write: false, metafile: true, logLevel: 'error', minify, keepNames: minify,
  external: ['cloudflare:*', 'node:*', ...NODE_BUILTINS], conditions: ['workerd', 'worker', 'browser'], mainFields: ['module', 'main'],
});
const parts = {};
for (const output of Object.values(meta.metafile.outputs)) {
  for (const [input, { bytesInOutput }] of Object.entries(output.inputs)) {
    const segs = input.split('/');
    const key = segs[0] === 'node_modules'
      ? `${segs.slice(1, segs[1].startsWith('@') ? 3 : 2).join('/')}${input.includes('/locales/') ? ' (locales)' : ''}`
      : segs.slice(0, 2).join('/');
    parts[key] = (parts[key] ?? 0) + bytesInOutput;
  }
}
const total = Object.values(parts).reduce((a, b) => a + b, 0);
console.log(`What the bytes are (esbuild metafile, ${minify ? 'minified' : 'not minified'} like the bundle):`);
console.table(Object.entries(parts).sort((a, b) => b[1] - a[1]).slice(0, 10)
  .map(([what, bytes]) => ({ what, KB: fmt(bytes / 1024), share: `${fmt((bytes / total) * 100, 1)}%` })));

// Startup: `wrangler check startup` profiles the top-level evaluation of each Worker. Two figures
// per profile: all CPU samples but idle, and JavaScript only (no "(program)": compiling, the
// runtime's own work; no GC). On a shared machine take the least of three runs. Read it as a
// hint only: locally the profile's samples are coarse (1-2 ms) and most of each profile is the
// runtime's start, so two Workers of very different sizes can show the same figure.
function startup(config, name) {
  const file = `${OUT}/${name}-startup.cpuprofile`;
  const r = spawnSync('npx', ['wrangler', 'check', 'startup', '-c', config, '--outfile', file], { stdio: ['ignore', 'ignore', 'inherit'], env });
  if (r.status !== 0) throw new Error(`wrangler check startup failed for ${name}`);
  const p = JSON.parse(readFileSync(file, 'utf8'));
  const kind = new Map(p.nodes.map((n) => [n.id, n.callFrame.functionName]));
  let cpu = 0;
  let js = 0;
  p.samples.forEach((id, i) => {
    const ms = (p.timeDeltas[i] ?? 0) / 1000;
    const k = kind.get(id);
    if (k === '(idle)') return;
    cpu += ms;
    if (k !== '(program)' && k !== '(garbage collector)') js += ms;
  });
  return { cpu, js };
}
writeFileSync(`${OUT}/empty.toml`, `name = "empty-hono"\nmain = "${resolve('bench/baseline-worker.ts')}"\ncompatibility_date = "2026-10-20"\ncompatibility_flags = ["nodejs_compat"]\n`);
const runs = { empty: [], edge: [] };
for (let round = 0; round < 3; round++) {
  runs.empty.push(startup(`${OUT}/empty.toml`, 'empty'));
  runs.edge.push(startup('wrangler.toml', 'edge'));
}
const least = (list, k) => Math.min(...list.map((r) => r[k]));
const each = (list) => list.map((r) => `${fmt(r.cpu, 1)}/${fmt(r.js, 1)}`).join(', ');
console.table([
  { worker: 'empty Hono Worker', 'startup CPU ms (least of 3)': fmt(least(runs.empty, 'cpu'), 1), 'of it JavaScript ms': fmt(least(runs.empty, 'js'), 1), 'each run (CPU/JS ms)': each(runs.empty) },
  { worker: 'edge', 'startup CPU ms (least of 3)': fmt(least(runs.edge, 'cpu'), 1), 'of it JavaScript ms': fmt(least(runs.edge, 'js'), 1), 'each run (CPU/JS ms)': each(runs.edge) },
]);
const ratio = { cpu: least(runs.edge, 'cpu') / least(runs.empty, 'cpu'), js: least(runs.edge, 'js') / least(runs.empty, 'js') };
console.log(`edge startup ÷ empty Hono Worker: CPU ${fmt(ratio.cpu, 2)}×, JavaScript ${fmt(ratio.js, 2)}× (local CPU, wrangler check startup)`);
// Issue 14's targets, side by side: the bundle under 100 KB gzip, startup within 1.3× of the empty Worker's.
const STARTUP_TARGET = 1.3;
console.log(`Targets: ${targetVerdict(bundle.gzip)}; startup within ${STARTUP_TARGET}× of the empty Hono Worker: ${Math.max(ratio.cpu, ratio.js) <= STARTUP_TARGET ? 'ok' : 'OVER'} (CPU ${fmt(ratio.cpu, 2)}×, JavaScript ${fmt(ratio.js, 2)}×)`);
