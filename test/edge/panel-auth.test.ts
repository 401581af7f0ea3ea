import { SELF } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { resetFake } from './helpers.ts';
import { EDITOR_KEY, panelApi, panelWorkspace, signIn } from './panel-helpers.ts';

const get = (path: string, headers: Record<string, string> = {}) => SELF.fetch(`https://edge.test/v1/panel${path}`, { headers });

describe('panel access', () => {
  it('answers 401 to every panel path without a session, unknown paths included', async () => {
    await resetFake();
    const s = await panelWorkspace();
    for (const [method, path] of [
      ['GET', `/workspaces/${s.workspace}/overview`], ['GET', `/workspaces/${s.workspace}/segments`],
      ['POST', `/workspaces/${s.workspace}/segments`], ['POST', `/workspaces/${s.workspace}/sends`],
      ['GET', '/no/such/path'], ['DELETE', '/workspaces/x/segments/1'], ['GET', '/session'],
    ] as const) {
      const res = await SELF.fetch(`https://edge.test/v1/panel${path}`, { method, headers: { 'content-type': 'application/json' }, body: method === 'GET' ? undefined : '{}' });
      expect(res.status, `${method} ${path}`).toBe(401);
      expect(((await res.json()) as { error: string }).error).toMatch(/session/i);
    }
    // A forged or tampered cookie is no session either.
    const tampered = s.cookie.replace(/.$/, (ch) => (ch === 'A' ? 'B' : 'A'));
    expect((await get(`/workspaces/${s.workspace}/overview`, { cookie: tampered })).status).toBe(401);
    // With a session, an unknown path is a plain 404.
    expect((await get('/no/such/path', { cookie: s.cookie })).status).toBe(404);
  });

  it('signs in only with the right editor key and sets a strict HttpOnly Secure cookie', async () => {
    const s = await panelWorkspace();
    const wrong = await SELF.fetch('https://edge.test/v1/panel/session', {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ workspace: s.workspace, editorKey: 'not-the-key-at-all' }),
    });
    expect(wrong.status).toBe(401);
    const res = await SELF.fetch('https://edge.test/v1/panel/session', {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ workspace: s.workspace, editorKey: EDITOR_KEY }),
    });
    expect(res.status).toBe(200);
    const cookie = res.headers.get('set-cookie')!;
    expect(cookie).toMatch(/HttpOnly/i);
    expect(cookie).toMatch(/Secure/i);
    expect(cookie).toMatch(/SameSite=Strict/i);
    expect((await get('/session', { cookie: cookie.split(';')[0]! })).status).toBe(200);
  });

  it('slows down guessing: after 5 wrong editor keys from one address, 429 even for the right one', async () => {
    const s = await panelWorkspace();
    const attempt = (editorKey: string, ip: string) => SELF.fetch('https://edge.test/v1/panel/session', {
      method: 'POST', headers: { 'content-type': 'application/json', 'cf-connecting-ip': ip }, body: JSON.stringify({ workspace: s.workspace, editorKey }),
    });
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) statuses.push((await attempt(`guess-number-${i}-xxxx`, '198.51.100.7')).status);
    expect(statuses).toEqual([401, 401, 401, 401, 401, 429]);
    const locked = await attempt(EDITOR_KEY, '198.51.100.7');
    expect(locked.status).toBe(429);
    expect(locked.headers.get('retry-after')).toBe('10');
    // Right keys spend nothing, and another address is not held back.
    expect((await attempt(EDITOR_KEY, '198.51.100.8')).status).toBe(200);
    expect((await attempt(EDITOR_KEY, '198.51.100.8')).status).toBe(200);
  });

  it('refuses a state-changing call without the CSRF token', async () => {
    const s = await panelWorkspace();
    const path = `/workspaces/${s.workspace}/segments`;
    const body = JSON.stringify({ name: 'No CSRF', rule: null });
    const missing = await SELF.fetch(`https://edge.test/v1/panel${path}`, { method: 'POST', headers: { cookie: s.cookie, 'content-type': 'application/json' }, body });
    expect(missing.status).toBe(403);
    const wrong = await SELF.fetch(`https://edge.test/v1/panel${path}`, { method: 'POST', headers: { cookie: s.cookie, 'x-csrf-token': 'x', 'content-type': 'application/json' }, body });
    expect(wrong.status).toBe(403);
    expect((await panelApi(s, 'POST', path, { name: 'With CSRF', rule: null })).status).toBe(201);
  });

  it("answers 403 for another workspace's data", async () => {
    const a = await panelWorkspace();
    const b = await panelWorkspace();
    for (const [method, path] of [['GET', 'overview'], ['GET', 'segments'], ['POST', 'segments'], ['GET', 'sends']] as const) {
      const res = await panelApi(a, method, `/workspaces/${b.workspace}/${path}`, method === 'POST' ? { name: 'x', rule: null } : undefined);
      expect(res.status, `${method} ${path}`).toBe(403);
    }
    expect((await panelApi(a, 'GET', `/workspaces/${a.workspace}/segments`)).status).toBe(200);
  });

  it('gives a bearer token for an embedded panel, which needs no cookie and no CSRF token', async () => {
    const s = await panelWorkspace();
    const res = await SELF.fetch('https://edge.test/v1/panel/session', {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ workspace: s.workspace, editorKey: EDITOR_KEY, mode: 'bearer' }),
    });
    const { token } = (await res.json()) as { token: string };
    expect(res.headers.get('set-cookie')).toBeNull();
    const created = await SELF.fetch(`https://edge.test/v1/panel/workspaces/${s.workspace}/segments`, {
      method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify({ name: 'Embedded', rule: null }),
    });
    expect(created.status).toBe(201);
    // A bearer token is not accepted as a cookie (it would then skip CSRF).
    expect((await get(`/workspaces/${s.workspace}/segments`, { cookie: `ss_panel=${token}` })).status).toBe(401);
  });

  it('ends every session when the editor key is rotated', async () => {
    const s = await panelWorkspace();
    const res = await SELF.fetch(`https://edge.test/v1/admin/workspaces/${s.workspace}`, {
      method: 'PUT', headers: { authorization: 'Bearer test-admin-secret', 'content-type': 'application/json' },
      body: JSON.stringify({ allowedOrigins: ['https://news.example.com'], editorKey: 'a-brand-new-editor-key' }),
    });
    expect(res.status).toBe(200);
    expect((await get(`/workspaces/${s.workspace}/segments`, { cookie: s.cookie })).status).toBe(401);
    expect((await signIn(s.workspace, 'a-brand-new-editor-key')).cookie).toMatch(/^ss_panel=/);
  });
});
