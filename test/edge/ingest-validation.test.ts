// Every bad input to POST /v1/events gets its 4xx with a field-level message, never a 500.
import { SELF } from 'cloudflare:test';
import { beforeAll, describe, expect, it } from 'vitest';
import { ORIGIN, createWorkspace, page, postEvents } from './helpers.ts';

let ws: { id: string };
beforeAll(async () => {
  ws = await createWorkspace({ limits: { ingestPerClientPerSecond: 5 } as never });
});

async function errorOf(res: Response) {
  const body = (await res.json()) as { error: string; issues: Array<{ path: string; message: string }> };
  expect(typeof body.error).toBe('string');
  return { status: res.status, ...body };
}

describe('POST /v1/events rejects bad input clearly', () => {
  it('400 for a body that is not JSON, or empty', async () => {
    const e = await errorOf(await postEvents('{not json'));
    expect(e.status).toBe(400);
    expect(e.error).toMatch(/not valid JSON/);
    expect((await errorOf(await postEvents(''))).status).toBe(400);
  });

  it('400 naming each bad field', async () => {
    const e = await errorOf(await postEvents({
      workspace: ws.id,
      events: [
        page('anon-valid-01'),
        { id: 'short', type: 'signup', anonymousId: 'anon-valid-01', ts: Date.now(), email: 'not-an-email', consent: 'yes' },
        { ...page('anon-valid-01'), scrollDepth: 1.5 },
        { id: 'event-unknown-1', type: 'teleport', anonymousId: 'anon-valid-01', ts: Date.now() },
      ],
    }));
    expect(e.status).toBe(400);
    const paths = e.issues.map((i) => i.path);
    expect(paths).toEqual(expect.arrayContaining(['events.1.id', 'events.1.email', 'events.1.consent', 'events.2.scrollDepth', 'events.3.type']));
  });

  it('400 for an empty batch, a missing workspace, and timestamps in the future or in seconds', async () => {
    expect((await errorOf(await postEvents({ workspace: ws.id, events: [] }))).issues[0]!.path).toBe('events');
    expect((await errorOf(await postEvents({ events: [page('anon-valid-01')] }))).issues[0]!.path).toBe('workspace');
    const future = await errorOf(await postEvents({ workspace: ws.id, events: [page('anon-valid-01', { ts: Date.now() + 3 * 86_400_000 })] }));
    expect(future.issues).toEqual([{ path: 'events.0.ts', message: expect.stringMatching(/future/) }]);
    const seconds = await errorOf(await postEvents({ workspace: ws.id, events: [page('anon-valid-01', { ts: Math.floor(Date.now() / 1000) })] }));
    expect(seconds.issues[0]!.path).toBe('events.0.ts');
  });

  it('202 for a batch with one event kept offline past 30 days: the fresh ones count, the stale one is named', async () => {
    const res = await postEvents({ workspace: ws.id, events: [page('anon-stale-01', { ts: Date.now() - 31 * 86_400_000 }), page('anon-stale-01')] }, { 'cf-connecting-ip': '203.0.113.20' });
    expect(res.status).toBe(202);
    expect(await res.json()).toEqual({ accepted: 1, duplicates: 0, rejected: [{ path: 'events.0.ts', message: expect.stringMatching(/older than 30 days/) }] });
  });

  it('404 for an unknown workspace', async () => {
    const e = await errorOf(await postEvents({ workspace: 'no-such-workspace', events: [page('anon-valid-01')] }));
    expect(e.status).toBe(404);
    expect(e.issues[0]!.path).toBe('workspace');
  });

  it('403 for a page origin the workspace does not allow, or none', async () => {
    const e = await errorOf(await postEvents({ workspace: ws.id, events: [page('anon-valid-01')] }, { origin: 'https://evil.example' }));
    expect(e.status).toBe(403);
    expect(e.error).toContain('https://evil.example');
    const none = await SELF.fetch('https://edge.test/v1/events', { method: 'POST', body: JSON.stringify({ workspace: ws.id, events: [page('anon-valid-01')] }) });
    expect(none.status).toBe(403);
    // A Referer stands in for a missing Origin.
    const viaReferer = await SELF.fetch('https://edge.test/v1/events', { method: 'POST', headers: { referer: `${ORIGIN}/a/1` }, body: JSON.stringify({ workspace: ws.id, events: [page('anon-referer-1')] }) });
    expect(viaReferer.status).toBe(202);
  });

  it('413 for a body over 64 KiB', async () => {
    const huge = JSON.stringify({ workspace: ws.id, events: [page('anon-valid-01', { title: 'x'.repeat(70_000) })] });
    const e = await errorOf(await postEvents(huge));
    expect(e.status).toBe(413);
  });

  it('429 with Retry-After when one client floods', async () => {
    const statuses: number[] = [];
    let retryAfter: string | null = null;
    for (let i = 0; i < 20; i++) {
      const res = await postEvents({ workspace: ws.id, events: [page('anon-flood-01')] }, { 'cf-connecting-ip': '203.0.113.9' });
      statuses.push(res.status);
      if (res.status === 429) retryAfter = res.headers.get('retry-after');
      await res.body?.cancel();
    }
    expect(statuses.filter((s) => s === 202).length).toBeGreaterThanOrEqual(5);
    expect(statuses).toContain(429);
    expect(retryAfter).toBe('1');
    // Another client is unaffected.
    expect((await postEvents({ workspace: ws.id, events: [page('anon-other-01')] }, { 'cf-connecting-ip': '203.0.113.10' })).status).toBe(202);
  });

  it('answers CORS for allowed origins only', async () => {
    const ok = await postEvents({ workspace: ws.id, events: [page('anon-cors-001')] }, { 'cf-connecting-ip': '203.0.113.11' });
    expect(ok.headers.get('access-control-allow-origin')).toBe(ORIGIN);
    const pre = await SELF.fetch(`https://edge.test/v1/events?workspace=${ws.id}`, { method: 'OPTIONS', headers: { origin: ORIGIN, 'access-control-request-method': 'POST' } });
    expect(pre.status).toBe(204);
    expect(pre.headers.get('access-control-allow-methods')).toContain('POST');
    const denied = await SELF.fetch(`https://edge.test/v1/events?workspace=${ws.id}`, { method: 'OPTIONS', headers: { origin: 'https://evil.example' } });
    expect(denied.status).toBe(403);
    expect(denied.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('counts a replayed event once', async () => {
    const events = [page('anon-replay-01'), page('anon-replay-01')];
    const first = await postEvents({ workspace: ws.id, events }, { 'cf-connecting-ip': '203.0.113.12' });
    expect(await first.json()).toEqual({ accepted: 2, duplicates: 0 });
    const again = await postEvents({ workspace: ws.id, events }, { 'cf-connecting-ip': '203.0.113.12' });
    expect(await again.json()).toEqual({ accepted: 0, duplicates: 2 });
  });
});

describe('admin and server API auth', () => {
  it('admin API: 401 without a token, 403 with a wrong one, 400 naming bad settings', async () => {
    expect((await SELF.fetch('https://edge.test/v1/admin/workspaces/x')).status).toBe(401);
    expect((await SELF.fetch('https://edge.test/v1/admin/workspaces/x', { headers: { authorization: 'Bearer nope' } })).status).toBe(403);
    const bad = await SELF.fetch('https://edge.test/v1/admin/workspaces/new-ws', {
      method: 'PUT', headers: { authorization: 'Bearer test-admin-secret' },
      body: JSON.stringify({ allowedOrigins: ['https://ok.example/path'], limits: { trackPerSecond: -1 } }),
    });
    const e = await errorOf(bad);
    expect(e.status).toBe(400);
    expect(e.issues.map((i) => i.path)).toEqual(expect.arrayContaining(['allowedOrigins.0', 'limits.trackPerSecond']));
  });

  it('PATCH changes only what it names; PUT to an unknown id without keys is a 400', async () => {
    const made = await createWorkspace({ limits: { trackPerSecond: 40 } as never, sync: { shards: 2 } as never });
    const patch = await SELF.fetch(`https://edge.test/v1/admin/workspaces/${made.id}`, {
      method: 'PATCH', headers: { authorization: 'Bearer test-admin-secret' },
      body: JSON.stringify({ allowedOrigins: [ORIGIN, 'https://blog.example.com'], limits: { appPerSecond: 5 } }),
    });
    expect(patch.status).toBe(200);
    const ws = ((await patch.json()) as any).workspace;
    expect(ws.allowedOrigins).toEqual([ORIGIN, 'https://blog.example.com']);
    expect(ws.limits).toMatchObject({ trackPerSecond: 40, appPerSecond: 5 });
    expect(ws.sync.shards).toBe(2);
    expect(ws.customerio.configured).toBe(true);
    const bad = await SELF.fetch(`https://edge.test/v1/admin/workspaces/${made.id}`, {
      method: 'PATCH', headers: { authorization: 'Bearer test-admin-secret' }, body: JSON.stringify({ limits: { trackPerSecond: 'fast' } }),
    });
    expect(((await errorOf(bad)).issues)[0]!.path).toBe('limits.trackPerSecond');
    const missing = await SELF.fetch('https://edge.test/v1/admin/workspaces/never-made', {
      method: 'PATCH', headers: { authorization: 'Bearer test-admin-secret' }, body: '{}',
    });
    expect(missing.status).toBe(404);
    const noKeys = await SELF.fetch('https://edge.test/v1/admin/workspaces/never-made', {
      method: 'PUT', headers: { authorization: 'Bearer test-admin-secret' }, body: JSON.stringify({ allowedOrigins: [ORIGIN] }),
    });
    expect((await errorOf(noKeys)).issues).toEqual([{ path: 'customerio', message: 'is required when creating a workspace' }]);
  });

  it('never returns Customer.io keys', async () => {
    const res = await SELF.fetch(`https://edge.test/v1/admin/workspaces/${ws.id}`, { headers: { authorization: 'Bearer test-admin-secret' } });
    const text = await res.text();
    expect(res.status).toBe(200);
    expect(text).toContain('demo_site');
    expect(text).not.toContain('demo_track_key');
    expect(text).not.toContain('demo_app_key');
  });

  it('server API: 401 without a key, 403 with a wrong one', async () => {
    expect((await SELF.fetch('https://edge.test/v1/server/reader?email=a@b.co')).status).toBe(401);
    const wrong = await SELF.fetch('https://edge.test/v1/server/reader?email=a@b.co', { headers: { authorization: `Bearer ss_sk_${ws.id}_wrongwrongwrong` } });
    expect(wrong.status).toBe(403);
  });
});
