// Shared by the edge benchmarks: the real Worker bundle (as `wrangler deploy` builds it), the
// floor Worker (bench/floor: parse, one call to a per-reader SQLite object storing one row) and
// an empty Hono Worker, served side by side by ONE workerd (Miniflare), each on its own socket —
// so the figures meet the same machine, runtime and noise, and the ratios are what counts.
import { setTimeout as sleep } from 'node:timers/promises';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { build } from 'esbuild';
import { Miniflare, convertV4MiniflareOptions } from 'miniflare';
import { INSPECTOR_PORT, PROFILE } from './profile.mjs';

const OUT = 'bench/out';
/** `BENCH_STORAGE=memory`: workerd's object storage on a RAM-backed filesystem (README "Benchmarks: the floor and the ratios"). */
const IN_MEMORY = process.env.BENCH_STORAGE === 'memory';
export const ADMIN_SECRET = 'bench-admin-secret';
const ENCRYPTION_KEY = 'YmVuY2gtb25seS1lbmNyeXB0aW9uLWtleS0zMi1ieXQ=';

/** `wrangler deploy --dry-run` of one config; the bundle is what would be deployed. */
function bundleWith(config, name, entry) {
  const r = spawnSync('npx', ['wrangler', 'deploy', '--dry-run', '-c', config, '--outdir', resolve(OUT, name)], {
    stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, WRANGLER_SEND_METRICS: 'false' },
  });
  if (r.status !== 0) throw new Error(`wrangler deploy --dry-run -c ${config} failed`);
  return `${OUT}/${name}/${entry}`;
}
const bundleEdge = () => bundleWith('wrangler.toml', 'edge', 'index.js');
export const FLOOR_CONFIG = 'bench/floor/wrangler.toml';
const bundleFloor = () => bundleWith(FLOOR_CONFIG, 'floor', 'worker.js');

async function bundleBaseline() {
  await build({ entryPoints: ['bench/baseline-worker.ts'], bundle: true, format: 'esm', platform: 'neutral', outfile: `${OUT}/baseline.js`, logLevel: 'error' });
  return `${OUT}/baseline.js`;
}

/** `inspectorPort`: opens workerd's V8 inspector there (bench:scale reads the heap through it). */
export async function startWorkers({ customerIoUrl, inspectorPort }) {
  mkdirSync(OUT, { recursive: true });
  // Miniflare keeps object storage under the OS temp directory, read when it starts.
  if (IN_MEMORY) process.env.TMPDIR = memoryDir();
  const [edgePath, floorPath, baselinePath] = [bundleEdge(), bundleFloor(), await bundleBaseline()];
  const sqliteObjects = (config) => Object.fromEntries(Object.entries(durableObjectBindings(config)).map(([binding, className]) => [binding, { className, useSQLite: true }]));
  const common = { modules: true, compatibilityDate: '2026-10-20', compatibilityFlags: ['nodejs_compat'], unsafeDirectSockets: [{ host: '127.0.0.1', port: 0 }] };
  const mf = new Miniflare(convertV4MiniflareOptions({
    ...(PROFILE ? { inspectorPort: INSPECTOR_PORT } : inspectorPort ? { inspectorPort } : {}),
    workers: [
      {
        ...common,
        name: 'edge',
        modules: [{ type: 'ESModule', path: edgePath }],
        modulesRules: [{ type: 'ESModule', include: ['**/*.js'] }],
        durableObjects: sqliteObjects('wrangler.toml'),
        bindings: { CUSTOMERIO_BASE_URL: customerIoUrl, ADMIN_SECRET, CONFIG_ENCRYPTION_KEY: ENCRYPTION_KEY },
      },
      {
        ...common,
        name: 'floor',
        modules: [{ type: 'ESModule', path: floorPath }],
        modulesRules: [{ type: 'ESModule', include: ['**/*.js'] }],
        durableObjects: sqliteObjects(FLOOR_CONFIG),
      },
      { ...common, name: 'baseline', modules: [{ type: 'ESModule', path: baselinePath }] },
    ],
  }));
  await mf.ready;
  const edgeUrl = (await mf.unsafeGetDirectURL('edge')).origin;
  const baselineUrl = (await mf.unsafeGetDirectURL('baseline')).origin;
  const floorUrl = (await mf.unsafeGetDirectURL('floor')).origin;
  return { mf, edgeUrl, baselineUrl, floorUrl };
}

/**
 * The fake Customer.io in a process of its own, as the real one is elsewhere: in the bench's own
 * process its work on each batch (parsing, validating) would stall the load generator, and the
 * edge would be charged for it. `options` go to `createFakeCustomerIo` (port 0: any free port).
 */
export async function startFakeCustomerIo(options = {}) {
  const script = "import { createFakeCustomerIo } from './test/fake-customerio/server.ts';" +
    'const fake = await createFakeCustomerIo(JSON.parse(process.argv[1])); console.log(fake.url);' +
    "process.on('SIGTERM', () => fake.close().then(() => process.exit(0)));";
  const child = spawn(process.execPath, ['--input-type=module', '-e', script, JSON.stringify({ port: 0, ...options })], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  // However the bench ends (an error, Ctrl-C reaches the child too), the fake does not outlive it.
  const stop = () => child.exitCode === null && child.kill('SIGTERM');
  process.once('exit', stop);
  const url = await new Promise((resolveUrl, reject) => {
    let out = '';
    child.stdout.on('data', (chunk) => {
      out += chunk;
      const line = out.split('\n').find((l) => l.startsWith('http'));
      if (line) resolveUrl(line.trim());
    });
    child.once('exit', (code) => reject(new Error(`the fake Customer.io exited (${code}) before it listened`)));
  });
  const close = () => new Promise((done) => {
    process.off('exit', stop);
    if (child.exitCode !== null) return done();
    child.once('exit', () => done());
    stop();
  });
  return { url, close };
}

/** Which storage the run's objects had, for the figures' heading. */
export const storageLabel = () => (IN_MEMORY ? 'object storage in memory (/dev/shm)' : 'object storage on disk (temp directory)');

/** Where `BENCH_STORAGE=memory` puts workerd's storage: a RAM-backed filesystem, or a clear error. */
function memoryDir() {
  if (!existsSync('/dev/shm')) throw new Error('BENCH_STORAGE=memory needs /dev/shm (a RAM-backed filesystem)');
  const dir = '/dev/shm/sharpsend-bench';
  mkdirSync(dir, { recursive: true });
  return dir;
}

/** The Durable Object bindings a wrangler.toml declares (all SQLite-backed). */
function durableObjectBindings(config) {
  const toml = readFileSync(config, 'utf8');
  const out = {};
  for (const m of toml.matchAll(/\[\[durable_objects\.bindings\]\]\s*name\s*=\s*"([^"]+)"\s*class_name\s*=\s*"([^"]+)"/g)) out[m[1]] = m[2];
  return out;
}

/**
 * Sends `requests` (functions returning fetch arguments) with `concurrency` in flight and
 * returns requests/s and latency percentiles. Non-2xx answers are counted as errors.
 */
export async function load(requests, concurrency = 16) {
  const cpuBefore = workerdCpuMs();
  const latencies = [];
  let errors = 0;
  let next = 0;
  const started = performance.now();
  async function worker() {
    while (next < requests.length) {
      const [url, init] = requests[next++]();
      const t = performance.now();
      const res = await fetch(url, init);
      await res.arrayBuffer();
      latencies.push(performance.now() - t);
      if (res.status >= 300 && res.status !== 302) errors++;
    }
  }
  await Promise.all(Array.from({ length: concurrency }, worker));
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  const pct = (p) => latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))];
  const cpuAfter = workerdCpuMs();
  const cpuMsPerRequest = cpuBefore === null || cpuAfter === null ? null : (cpuAfter - cpuBefore) / requests.length;
  return { requests: requests.length, seconds, perSecond: requests.length / seconds, p50: pct(50), p99: pct(99), errors, cpuMsPerRequest };
}

/**
 * CPU time (user + system, ms) the workerd process has used so far: read from /proc (Linux), null
 * elsewhere. Unlike requests/s it barely moves when other work shares the machine, so the CPU a
 * route costs per request, background work included (the sync, in the same workerd), can be
 * compared across runs on a busy machine.
 */
export function workerdCpuMs() {
  try {
    let total = 0;
    let found = false;
    for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
      let stat;
      try { stat = readFileSync(`/proc/${pid}/stat`, 'utf8'); } catch { continue; }
      const close = stat.lastIndexOf(')');
      const name = stat.slice(stat.indexOf('(') + 1, close);
      const fields = stat.slice(close + 2).split(' ');
      // fields[1] is the parent pid; fields[11], fields[12] utime and stime in clock ticks (100/s).
      if (name !== 'workerd' || Number(fields[1]) !== process.pid) continue;
      found = true;
      total += (Number(fields[11]) + Number(fields[12])) * 10;
    }
    return found ? total : null;
  } catch {
    return null;
  }
}

/**
 * Waits until workerd is nearly idle (under a tenth of a core over half a second, or `timeoutMs`):
 * the work a seeding phase left behind (its syncs, in the same workerd) is not charged to the run
 * measured after it. Returns the seconds waited.
 */
export async function settled(timeoutMs = 90_000) {
  const started = Date.now();
  let before = workerdCpuMs();
  if (before === null) return 0;
  while (Date.now() - started < timeoutMs) {
    await sleep(500);
    const now = workerdCpuMs();
    if (now - before < 50) break;
    before = now;
  }
  return (Date.now() - started) / 1000;
}

export const fmt = (n, digits = 0) => n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

/** `a / b` as a ratio, e.g. "0.83×". */
export const ratio = (a, b) => `${fmt(a / b, 2)}×`;

/** The median of a run's figures: one round's ratio swings by a third between runs of the same code here. */
export const median = (xs) => { const s = [...xs].sort((x, y) => x - y); return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2; };

/** "name 0.72× (rounds: 0.70, 0.75, 0.71)": the median of the rounds' ratios, each round's beside it. */
export const roundsSummary = (name, xs) => `${name} ${fmt(median(xs), 2)}× (rounds: ${xs.map((x) => fmt(x, 2)).join(', ')})`;

/** The name the benchmarks used before the floor joined (bench:scale and others still call it). */
export const startEdgeAndBaseline = startWorkers;
