// Runs the Worker as `npm start` does (wrangler dev, workerd, SQLite Durable Objects on disk) in
// its own process group, so a test can stop — or kill — it and every child it started.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';

export interface WranglerDev {
  url: string;
  stop(signal?: NodeJS.Signals): Promise<void>;
  /** What workerd printed on stderr so far (warnings, uncaught errors). */
  stderr(): string;
}

export async function startWranglerDev(opts: { port: number; persistTo: string; vars: Record<string, string>; logLevel?: 'warn' | 'log' }): Promise<WranglerDev> {
  mkdirSync('dist/public', { recursive: true });
  const args = ['wrangler', 'dev', '--ip', '127.0.0.1', '--port', String(opts.port), '--persist-to', opts.persistTo,
    '--show-interactive-dev-session=false', '--inspector-port', String(opts.port + 10_000), '--log-level', opts.logLevel ?? 'warn'];
  for (const [k, v] of Object.entries(opts.vars)) args.push('--var', `${k}:${v}`);
  const child: ChildProcess = spawn('npx', args, {
    detached: true,
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, WRANGLER_SEND_METRICS: 'false', CLOUDFLARE_CF_FETCH_ENABLED: 'false' },
  });
  let stderr = '';
  child.stderr?.on('data', (d) => { stderr += String(d); });
  const url = `http://127.0.0.1:${opts.port}`;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async (signal: NodeJS.Signals = 'SIGTERM') => {
    try { process.kill(-child.pid!, signal); } catch { /* gone */ }
    await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
  };
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`wrangler dev exited: ${stderr.slice(-2000)}`);
    try {
      if ((await fetch(`${url}/healthz`)).ok) return { url, stop, stderr: () => stderr };
    } catch { /* not yet */ }
    await new Promise((r) => setTimeout(r, 250));
  }
  await stop('SIGKILL');
  throw new Error(`wrangler dev did not start: ${stderr.slice(-2000)}`);
}
