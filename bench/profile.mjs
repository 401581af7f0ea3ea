// CPU profiles of a Worker inside the benchmarks' workerd, through its V8 inspector (the
// Chrome DevTools protocol): `BENCH_PROFILE=1 npm run bench:pixel` (or bench:edge) profiles the
// measured edge runs and prints where the time went, by function and by file; the full
// .cpuprofile lands in bench/out/ for Chrome DevTools (Performance → Load profile).
// The Worker and its Durable Objects share one isolate in workerd, so one profile covers both.
import { writeFileSync } from 'node:fs';

export const PROFILE = Boolean(process.env.BENCH_PROFILE);
// Which measured round BENCH_PROFILE profiles (0: the first). bench:pixel's first round is where the
// readers' quiet syncs fall; bench:edge profiles one of its in-memory returning rounds.
export const PROFILE_ROUND = Number(process.env.BENCH_PROFILE_ROUND ?? 0);
export const INSPECTOR_PORT = Number(process.env.BENCH_INSPECTOR_PORT ?? 9329);

async function session(worker, port = INSPECTOR_PORT) {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/core:user:${worker}`);
  await new Promise((resolve, reject) => { ws.onopen = resolve; ws.onerror = reject; });
  let id = 0;
  const waiting = new Map();
  ws.onmessage = (m) => {
    const msg = JSON.parse(m.data);
    if (msg.id && waiting.has(msg.id)) { waiting.get(msg.id)(msg); waiting.delete(msg.id); }
  };
  const send = (method, params = {}) => new Promise((resolve) => { const n = ++id; waiting.set(n, resolve); ws.send(JSON.stringify({ id: n, method, params })); });
  return { send, close: () => ws.close() };
}

/**
 * The V8 heap of `worker`'s isolate (the Worker and its Durable Objects share it) after a full
 * garbage collection, through the inspector on `port`: what the live objects hold, in bytes.
 */
export async function heapAfterGc(worker, port) {
  const s = await session(worker, port);
  try {
    await s.send('HeapProfiler.collectGarbage');
    const { result } = await s.send('Runtime.getHeapUsage');
    return { used: result.usedSize, total: result.totalSize };
  } finally {
    s.close();
  }
}

/** Starts profiling `worker`; the returned function stops, saves and summarises. */
export async function startProfile(worker, label) {
  const s = await session(worker);
  await s.send('Profiler.enable');
  await s.send('Profiler.setSamplingInterval', { interval: 200 });
  await s.send('Profiler.start');
  return async () => {
    const { result } = await s.send('Profiler.stop');
    s.close();
    const file = `bench/out/${label}.cpuprofile`;
    writeFileSync(file, JSON.stringify(result.profile));
    summarise(result.profile, label, file);
  };
}

function summarise(profile, label, file) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map();
  const dt = profile.timeDeltas;
  profile.samples.forEach((nodeId, i) => self.set(nodeId, (self.get(nodeId) ?? 0) + (dt[i] ?? 0)));
  const total = [...self.values()].reduce((a, b) => a + b, 0);
  const fnTime = new Map();
  const fileTime = new Map();
  for (const [nodeId, us] of self) {
    const { callFrame: f } = byId.get(nodeId);
    const where = f.url ? `${f.url.split('/').slice(-1)[0]}:${f.lineNumber + 1}` : '';
    const key = `${f.functionName || '(anonymous)'} ${where}`.trim();
    fnTime.set(key, (fnTime.get(key) ?? 0) + us);
    const fileKey = f.url ? f.url.split('/').slice(-1)[0] : f.functionName;
    fileTime.set(fileKey, (fileTime.get(fileKey) ?? 0) + us);
  }
  const top = (m, n) => [...m].sort((a, b) => b[1] - a[1]).slice(0, n).map(([what, us]) => ({ what, 'self ms': (us / 1000).toFixed(0), share: `${((us / total) * 100).toFixed(1)}%` }));
  console.log(`\nCPU profile of ${label}: ${(total / 1000).toFixed(0)} ms sampled (${file})`);
  console.table(top(fnTime, 25));
  console.table(top(fileTime, 10));
}
