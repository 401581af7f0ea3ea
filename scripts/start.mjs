#!/usr/bin/env node
// `npm start`: the whole product on this machine, no account needed.
// Builds the widget, starts the fake Customer.io and the Worker (wrangler dev, workerd),
// creates the `demo` workspace against the fake, and prints the URLs to open.
// Ports and state folder are overridable so tests can run their own copy beside a demo.
import { spawn } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';

const edgePort = Number(process.env.SHARPSEND_PORT ?? 8787);
const fakePort = Number(process.env.FAKE_CIO_PORT ?? 8790);
const stateDir = process.env.SHARPSEND_STATE_DIR ?? '.wrangler/state';
const skipBuild = process.env.SHARPSEND_SKIP_BUILD === '1';
const quiet = process.env.SHARPSEND_QUIET === '1';

// Local-only stand-ins for the Worker secrets; production sets real ones with `wrangler secret put`.
export const DEV_ADMIN_SECRET = 'dev-admin-secret';
const DEV_ENCRYPTION_KEY = 'ZGV2LW9ubHktZW5jcnlwdGlvbi1rZXktMzItYnl0ZXM='; // 32 bytes, dev only
export const DEMO_SECRET_KEY = 'ss_sk_demo_localdemosecret';
const DEMO_WEBHOOK_SECRET = 'demo-webhook-signing-secret';

const children = [];
function run(cmd, args, opts = {}) {
  // Own process group: `npx wrangler` leaves workerd children behind unless the group is stopped.
  const child = spawn(cmd, args, { stdio: quiet ? 'ignore' : 'inherit', detached: true, ...opts });
  children.push(child);
  return child;
}
function stopAll() {
  for (const child of children) {
    try { process.kill(-child.pid, 'SIGTERM'); } catch { /* already gone */ }
  }
}
process.on('SIGINT', () => { stopAll(); process.exit(130); });
process.on('SIGTERM', () => { stopAll(); process.exit(143); });
process.on('exit', stopAll);

async function waitFor(url, what, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      const res = await fetch(url);
      if (res.ok) return;
    } catch { /* not up yet */ }
    await sleep(250);
  }
  throw new Error(`${what} did not answer at ${url} within ${timeoutMs / 1000}s`);
}

function runToEnd(cmd, args) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: quiet ? 'ignore' : 'inherit' });
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`${cmd} ${args.join(' ')} exited ${code}`))));
  });
}

if (!skipBuild) await runToEnd('npm', ['run', '--silent', 'build:assets']);

run('node', ['test/fake-customerio/main.ts', '--port', String(fakePort)]);
await waitFor(`http://127.0.0.1:${fakePort}/_fake/healthz`, 'The fake Customer.io');

const fakeUrl = `http://127.0.0.1:${fakePort}`;
run('npx', [
  'wrangler', 'dev',
  '--ip', '127.0.0.1', '--port', String(edgePort),
  '--persist-to', stateDir,
  '--show-interactive-dev-session=false',
  '--inspector-port', String(edgePort + 10000),
  '--var', `CUSTOMERIO_BASE_URL:${fakeUrl}`,
  '--var', `ADMIN_SECRET:${DEV_ADMIN_SECRET}`,
  '--var', `CONFIG_ENCRYPTION_KEY:${DEV_ENCRYPTION_KEY}`,
], { env: { ...process.env, WRANGLER_SEND_METRICS: 'false', CLOUDFLARE_CF_FETCH_ENABLED: 'false' } });
const edge = `http://127.0.0.1:${edgePort}`;
await waitFor(`${edge}/healthz`, 'The Worker');

// The demo workspace, against the fake's `demo` credentials: created only when it is missing, so
// what an operator changed (origins, rules, limits, keys) survives a restart. When it exists but
// does not yet allow this run's origins (other ports), they are added and nothing else is touched.
const admin = { authorization: `Bearer ${DEV_ADMIN_SECRET}`, 'content-type': 'application/json' };
const demoOrigins = [`http://127.0.0.1:${edgePort}`, `http://localhost:${edgePort}`];
const existing = await fetch(`${edge}/v1/admin/workspaces/demo`, { headers: admin });
let res = existing;
if (existing.status === 404) {
  res = await fetch(`${edge}/v1/admin/workspaces/demo`, {
    method: 'PUT',
    headers: admin,
    body: JSON.stringify({
      allowedOrigins: demoOrigins,
      customerio: { siteId: 'demo_site', trackKey: 'demo_track_key', appKey: 'demo_app_key', region: 'us' },
      secretKey: DEMO_SECRET_KEY,
      editorKey: 'demo-editor-key',
      // A reader's reads and opens after a sync reach the fake Customer.io within seconds, so the
      // demo shows the whole loop as it happens; a real workspace keeps the default minute
      // (README "Sizing the outbox").
      sync: { quietResyncMs: 3_000 },
    }),
  });
} else if (existing.ok) {
  const { allowedOrigins } = await existing.json();
  const missing = demoOrigins.filter((o) => !allowedOrigins.includes(o));
  if (missing.length) {
    res = await fetch(`${edge}/v1/admin/workspaces/demo`, { method: 'PATCH', headers: admin, body: JSON.stringify({ allowedOrigins: [...allowedOrigins, ...missing] }) });
  }
}
if (!res.ok) throw new Error(`Setting up the demo workspace failed: ${res.status} ${await res.text()}`);

// Reporting webhooks, as a real workspace has them: the fake reports what it delivers to this
// Worker, signed with the demo's secret. The workspace keeps its secret across restarts (set here
// only when it has none); the fake forgets its side on every start, so it is told again each time.
const email = await (await fetch(`${edge}/v1/admin/workspaces/demo/email`, { headers: admin })).json();
if (!email.webhookSecretSet) {
  await fetch(`${edge}/v1/admin/workspaces/demo/webhook-secret`, { method: 'PUT', headers: admin, body: JSON.stringify({ secret: DEMO_WEBHOOK_SECRET }) });
}
await fetch(`${fakeUrl}/_fake/webhooks/demo`, {
  method: 'PUT', headers: { 'content-type': 'application/json' },
  body: JSON.stringify({ url: `${edge}/v1/webhooks/customerio/demo`, secret: DEMO_WEBHOOK_SECRET }),
});

console.log(`
SharpSend edge is running.
  Demo publisher page   ${edge}/demo/
  Editors' panel        ${edge}/panel/          (editor key: demo-editor-key)
  Widget script         ${edge}/sharpsend.js
  Health                ${edge}/healthz
  Fake Customer.io      ${fakeUrl}/_fake/requests  (people: ${fakeUrl}/_fake/people?workspace=demo)
  Server API key (demo) ${DEMO_SECRET_KEY}   (set in scripts/start.mjs; the workspace keeps it once made)
  Admin secret (local)  ${DEV_ADMIN_SECRET}   (a --var for this local Worker only; production: wrangler secret put)
Press Ctrl+C to stop.
`);
await new Promise(() => {});
