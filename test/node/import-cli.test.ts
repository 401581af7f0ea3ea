// `npm run import` end to end: the CLI against the Worker under `wrangler dev` (its own process
// group, on 127.0.0.1) and the fake Customer.io. A CSV of a few thousand subscribers with bad rows
// is imported, interrupted with SIGINT midway, and resumed: the summary names the bad lines, and no
// row is counted twice. The pure helpers (mapping, messageIds, packing) are checked first.
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFakeCustomerIo, type FakeCustomerIo } from '../fake-customerio/server.ts';
import { startWranglerDev, type WranglerDev } from '../support/wrangler-dev.ts';
import {
  MAX_BATCH_BYTES, batchPacker, csvRecordLine, jsonToCall, messageIdFor, recordToCall, retryDelayMs, summaryText, typedCell,
} from '../../scripts/import-rows.mjs';

describe('import helpers', () => {
  it('maps email, user_id/userId and every other column to traits, typing plain numbers and booleans', () => {
    expect(recordToCall({ Email: ' A@Example.com ', user_id: '42', plan: 'pro', seats: '3', ltv: '19.5', vip: 'TRUE', zip: '02139', phone: '+15551234', empty: '', note: ' hi ' }, { fromCsv: true }))
      .toEqual({ type: 'identify', userId: '42', traits: { email: 'A@Example.com', plan: 'pro', seats: 3, ltv: 19.5, vip: true, zip: '02139', phone: '+15551234', note: 'hi' } });
    expect(recordToCall({ userId: 'u1', seats: '3' }, { fromCsv: true, strings: true })).toEqual({ type: 'identify', userId: 'u1', traits: { seats: '3' } });
    expect(typedCell('1e5')).toBe('1e5');
    expect(typedCell('12345678901234567890')).toBe('12345678901234567890');
    // JSONL: a record keeps its JSON types; a Segment-shaped call passes through.
    expect(jsonToCall({ email: 'b@example.com', seats: 3, gone: null })).toEqual({ call: { type: 'identify', traits: { email: 'b@example.com', seats: 3 } } });
    expect(jsonToCall({ type: 'track', userId: 'u', event: 'e' })).toEqual({ call: { type: 'track', userId: 'u', event: 'e' } });
    expect(jsonToCall([1])).toEqual({ error: expect.stringContaining('JSON object') });
  });

  it('derives the same messageId for the same row and workspace only', () => {
    const call = { type: 'identify', traits: { email: 'a@example.com' } };
    expect(messageIdFor('ws1', call)).toBe(messageIdFor('ws1', { ...call, messageId: 'ignored' }));
    expect(messageIdFor('ws1', call)).not.toBe(messageIdFor('ws2', call));
    expect(messageIdFor('ws1', call)).not.toBe(messageIdFor('ws1', { ...call, traits: { email: 'b@example.com' } }));
    expect(messageIdFor('ws1', call).length).toBeLessThanOrEqual(100);
  });

  it('packs batches within the call and byte limits', () => {
    const packer = batchPacker({ maxCalls: 3 });
    const sent = [];
    for (let i = 1; i <= 7; i++) {
      const { ready } = packer.add({ type: 'identify', userId: `u${i}` }, i + 1);
      if (ready) sent.push(ready.lines);
    }
    sent.push(packer.flush()!.lines);
    expect(sent).toEqual([[2, 3, 4], [5, 6, 7], [8]]);
    const bytes = batchPacker();
    const big = { type: 'identify', userId: 'u', traits: { bio: 'x'.repeat(200_000) } };
    let batches = 0;
    for (let i = 0; i < 6; i++) if (bytes.add(big, i).ready) batches++;
    expect(batches).toBe(2); // 2 calls per ~400 KB body
    const last = bytes.flush()!;
    expect(last.bytes).toBeLessThanOrEqual(MAX_BATCH_BYTES);
    expect(Buffer.byteLength(JSON.stringify({ batch: last.calls }))).toBe(last.bytes);
    expect(batchPacker().add({ type: 'identify', traits: { bio: 'x'.repeat(MAX_BATCH_BYTES) } }, 1).tooLarge).toBe(true);
  });

  it('finds the first line of a CSV record, honours Retry-After and lists refused lines in order', () => {
    expect(csvRecordLine(2, 'a,b\n')).toBe(2);
    expect(csvRecordLine(5, '\nb,"multi\nline"\n')).toBe(4);
    expect(retryDelayMs(0, '3')).toBe(3000);
    expect(retryDelayMs(0, new Date(10_000).toUTCString(), 4_000)).toBe(6000);
    expect(retryDelayMs(3, null, 0, () => 0.5)).toBe(4000);
    expect(summaryText({ accepted: 5, duplicates: 1, rejected: [{ line: 9, reason: 'b' }, { line: 3, reason: 'a' }] }))
      .toBe('Accepted: 5\nDuplicates (already imported): 1\nRejected: 2\n  line 3: a\n  line 9: b');
  });
});

const ADMIN_SECRET = 'import-admin-secret';
const PORT = 19_150 + Math.floor(Math.random() * 40);
let fake: FakeCustomerIo;
let edge: WranglerDev | null = null;
let dir: string;
const children = new Set<ChildProcess>();

beforeAll(async () => {
  fake = await createFakeCustomerIo({ port: 0 });
  dir = mkdtempSync(join(tmpdir(), 'sharpsend-import-'));
  edge = await startWranglerDev({ port: PORT, persistTo: join(dir, 'state'), vars: {
    CUSTOMERIO_BASE_URL: fake.url, ADMIN_SECRET, CONFIG_ENCRYPTION_KEY: 'aW1wb3J0LXRlc3Qta2V5LTMyLWJ5dGVzLWxvbmchISE=',
  } });
}, 90_000);
afterAll(async () => {
  for (const child of children) child.kill('SIGKILL'); // a run left over by a failed assertion
  await edge?.stop('SIGKILL');
  await fake?.close();
  rmSync(dir, { recursive: true, force: true });
});

interface Run { code: number | null; stdout: string; stderr: string }
function runImport(args: string[], opts: { env?: Record<string, string>; interruptWhen?: () => boolean } = {}): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['scripts/import.mjs', ...args], { env: { ...process.env, ...opts.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    children.add(child);
    child.once('exit', () => children.delete(child));
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => { stdout += String(d); });
    child.stderr.on('data', (d) => { stderr += String(d); });
    let timer: NodeJS.Timeout | undefined;
    if (opts.interruptWhen) {
      timer = setInterval(() => {
        if (opts.interruptWhen!()) {
          child.kill('SIGINT');
          clearInterval(timer);
        }
      }, 20);
    }
    child.on('exit', (code) => {
      clearInterval(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

async function createWorkspace(id: string): Promise<string> {
  const res = await fetch(`${edge!.url}/v1/admin/workspaces/${id}`, {
    method: 'PUT', headers: { authorization: `Bearer ${ADMIN_SECRET}` },
    body: JSON.stringify({ allowedOrigins: ['https://import.example'], customerio: { siteId: 'demo_site', trackKey: 'demo_track_key', appKey: 'demo_app_key' } }),
  });
  expect(res.status).toBe(201);
  return ((await res.json()) as { secretKey: string }).secretKey;
}

describe('npm run import', () => {
  it('imports a CSV with bad rows, survives SIGINT midway, resumes, and counts every row once', async () => {
    const secretKey = await createWorkspace('importer');
    const rows = ['email,user_id,first_name,plan,seats,newsletter'];
    const bad = new Map<number, string>(); // line number → the field the summary must name
    const good: string[] = [];
    // A few hundred rows, not thousands: under `wrangler dev` on this shared 2-core machine a new
    // reader costs ~35 ms (its own SQLite object, the shard enqueue, then the sync to the fake) and a
    // user_id beside the email ~4x that (a second object and the merge link), measured 2026-12-01 at
    // load average 5-6. 420 rows in batches of 50 still give nine batches and an interrupt midway.
    const N = 420;
    for (let i = 0; i < N; i++) {
      const line = rows.length + 1;
      if (i % 150 === 61) {
        rows.push(`broken-${i},,Name ${i},free,1,true`);
        bad.set(line, 'traits.email');
      } else if (i === 277) {
        rows.push(',,Nobody,free,1,false');
        bad.set(line, 'userId');
      } else if (i === 333) {
        rows.push(`extra${i}@example.com,u${i},A,B,1,true,surplus`);
        bad.set(line, 'cells');
      } else {
        rows.push(`Sub${i}@Example.com,${i % 10 === 0 ? `u${i}` : ''},"Name, ${i}",${i % 3 ? 'pro' : 'free'},${i % 7},${i % 2 === 0}`);
        good.push(`sub${i}@example.com`);
      }
    }
    rows.push(rows[2]!); // an exact repeat of the first subscriber: one duplicate
    const file = join(dir, 'subscribers.csv');
    writeFileSync(file, `${rows.join('\n')}\n`);
    const statePath = `${file}.import-state.json`;
    const args = ['--workspace', 'importer', '--file', file, '--edge', edge!.url, '--batch-size', '50', '--concurrency', '2'];

    const lastLine = () => (existsSync(statePath) ? (JSON.parse(readFileSync(statePath, 'utf8')) as { lastLine: number }).lastLine : 0);
    const first = await runImport(args, { env: { SHARPSEND_SECRET_KEY: secretKey }, interruptWhen: () => lastLine() >= 150 });
    expect(first.code, first.stderr).toBe(130);
    expect(first.stderr).toContain('Stopping after the batches in flight');
    const saved = JSON.parse(readFileSync(statePath, 'utf8')) as { lastLine: number; accepted: number; duplicates: number };
    expect(saved.lastLine).toBeGreaterThanOrEqual(150);
    expect(saved.lastLine).toBeLessThan(rows.length);
    expect(saved.duplicates).toBe(0);
    // The batches in flight at Ctrl+C were waited for: the state covers exactly the rows before lastLine.
    const badBefore = [...bad.keys()].filter((l) => l <= saved.lastLine).length;
    expect(saved.accepted).toBe(saved.lastLine - 1 - badBefore);

    const second = await runImport([...args, '--secret-key', secretKey]);
    expect(second.code, second.stderr).toBe(0);
    expect(second.stderr).toContain(`Resuming after line ${saved.lastLine}`);
    expect(second.stderr).toMatch(/\d+% {2}[\d,]+ \/ 421 rows/);
    expect(existsSync(statePath)).toBe(false);
    expect(second.stdout).toContain(`Accepted: ${good.length.toLocaleString('en-US')}`);
    expect(second.stdout).toContain('Duplicates (already imported): 1');
    expect(second.stdout).toContain(`Rejected: ${bad.size}`);
    for (const [line, field] of bad) {
      const reported = second.stdout.split('\n').find((l) => l.startsWith(`  line ${line}: `));
      expect(reported, `line ${line}`).toBeDefined();
      expect(reported).toContain(field);
    }

    // The readers are there, typed, and merged with their user id like a single identify.
    const reader = async (q: string) => (await fetch(`${edge!.url}/v1/server/reader?${q}`, { headers: { authorization: `Bearer ${secretKey}` } })).json() as Promise<any>;
    expect(await reader('email=sub0@example.com')).toMatchObject({ userId: 'u0', traits: { first_name: 'Name, 0', plan: 'free', seats: 0, newsletter: true } });
    expect((await reader(`userId=u${N - 10}`)).key).toBe(`e:sub${N - 10}@example.com`);
    // And they reach Customer.io through the normal sync.
    const deadline = Date.now() + 20_000;
    let person: any = null;
    while (Date.now() < deadline && !person) {
      const res = await fetch(`${fake.url}/_fake/people/demo/${encodeURIComponent(`sub${N - 1}@example.com`)}`);
      person = res.ok ? await res.json() : null;
      if (!person) await new Promise((r) => setTimeout(r, 250));
    }
    expect(person?.attributes).toMatchObject({ plan: 'pro', seats: (N - 1) % 7 });
  }, 60_000);

  it('says clearly what is missing or wrong', async () => {
    const secretKey = await createWorkspace('importer2');
    const file = join(dir, 'two.jsonl');
    writeFileSync(file, '{"email":"j1@example.com","plan":"pro"}\n\nnot json\n{"type":"track","userId":"j2","event":"joined"}\n');
    const noWorkspace = await runImport(['--file', file, '--secret-key', secretKey]);
    expect(noWorkspace.code).toBe(2);
    expect(noWorkspace.stderr).toContain('missing --workspace');
    const noFile = await runImport(['--workspace', 'importer2', '--file', join(dir, 'nope.csv'), '--secret-key', secretKey]);
    expect(noFile.code).toBe(2);
    expect(noFile.stderr).toContain(`no such file: ${join(dir, 'nope.csv')}`);
    const badSecret = await runImport(['--workspace', 'importer2', '--file', file, '--edge', edge!.url, '--secret-key', 'ss_sk_importer2_wrongwrongwrong']);
    expect(badSecret.code).toBe(1);
    expect(badSecret.stderr).toContain('refused the secret key (403)');
    const ok = await runImport(['--workspace', 'importer2', '--file', file, '--edge', edge!.url, '--secret-key', secretKey]);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toContain('Accepted: 2');
    expect(ok.stdout).toMatch(/line 3: not valid JSON/);
  }, 30_000);

  it('retries a 429 and a 503 from the edge, waiting as long as Retry-After says', async () => {
    const secretKey = await createWorkspace('importer3');
    // In front of the real edge: the first two batch requests are turned away, the rest pass through.
    const seen: number[] = [];
    const proxy = createServer(async (req, res) => {
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      seen.push(Date.now());
      if (seen.length === 1) return res.writeHead(429, { 'retry-after': '1', 'content-type': 'application/json' }).end('{"error":"slow down","issues":[]}');
      if (seen.length === 2) return res.writeHead(503, { 'content-type': 'text/html' }).end('<h1>busy</h1>');
      const upstream = await fetch(`${edge!.url}${req.url}`, { method: req.method, headers: { authorization: req.headers.authorization! }, body: Buffer.concat(chunks) });
      res.writeHead(upstream.status, { 'content-type': 'application/json' }).end(await upstream.text());
    });
    await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
    try {
      const file = join(dir, 'retry.csv');
      writeFileSync(file, 'email,plan\nr1@example.com,pro\nr2@example.com,free\n');
      const url = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
      const run = await runImport(['--workspace', 'importer3', '--file', file, '--edge', url, '--secret-key', secretKey]);
      expect(run.code, run.stderr).toBe(0);
      expect(run.stdout).toContain('Accepted: 2');
      expect(seen).toHaveLength(3);
      expect(seen[1]! - seen[0]!).toBeGreaterThanOrEqual(950); // Retry-After: 1
    } finally {
      proxy.close();
    }
  }, 30_000);
});
