/** Shared by the panel's browser tests: seeding readers, signing in, the panel API from the page, the fake's view. */
import { expect, type APIRequestContext, type Page } from '@playwright/test';
import { EDGE_PORT, FAKE_CIO_PORT } from '../../playwright.config.ts';

export const EDGE = `http://127.0.0.1:${EDGE_PORT}`;
export const FAKE = `http://127.0.0.1:${FAKE_CIO_PORT}`;
const SECRET = 'ss_sk_demo_localdemosecret';
export const EDITOR_KEY = 'demo-editor-key';
export const run = Date.now().toString(36);

export interface Person { email: string; userId?: string; reads?: number; traits?: Record<string, string | number | boolean> }

/** Reads from the page origin (as the widget sends them), then an identify from the publisher's backend. */
export async function seedReaders(request: APIRequestContext, people: Person[]) {
  for (const p of people) {
    const anon = `anon-${p.email.replace(/[^a-z0-9]/gi, '').slice(0, 48)}`;
    if (p.reads) {
      const events = Array.from({ length: p.reads }, (_, i) => ({
        id: `evt-${anon}-${i}`.slice(0, 64), type: 'page', anonymousId: anon, ts: Date.now() - 1000 * (p.reads! - i),
        url: `${EDGE}/demo/article-${i}`, category: 'stocks', engagedMs: 90_000, scrollDepth: 0.8,
      }));
      const res = await request.post(`${EDGE}/v1/events`, { headers: { origin: EDGE, 'content-type': 'text/plain' }, data: JSON.stringify({ workspace: 'demo', events }) });
      expect(res.status(), await res.text()).toBe(202);
    }
    const res = await request.post(`${EDGE}/v1/server/identify`, {
      headers: { authorization: `Bearer ${SECRET}` },
      data: { userId: p.userId, anonymousId: p.reads ? anon : undefined, traits: { email: p.email, ...p.traits } },
    });
    expect(res.status(), await res.text()).toBe(200);
  }
}

export async function signIn(page: Page, workspace = 'demo', editorKey = EDITOR_KEY) {
  await page.goto('/panel/');
  await page.getByLabel('Workspace').fill(workspace);
  await page.getByLabel('Editor key').fill(editorKey);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByTestId('workspace')).toHaveText(workspace);
}

/** A panel API call from inside the signed-in page: its cookie, its CSRF token. */
export async function panelCall<T = any>(page: Page, method: string, path: string, body?: unknown): Promise<{ status: number; body: T }> {
  return page.evaluate(async ({ method, path, body }) => {
    const session = await (await fetch('/v1/panel/session')).json();
    const res = await fetch(`/v1/panel${path}`, {
      method, headers: { 'content-type': 'application/json', 'x-csrf-token': session.csrfToken ?? '' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: res.status, body: await res.json() };
  }, { method, path, body });
}

/** Waits until the panel's directory holds these readers with their reads (they appear once synced). */
export async function waitForDirectory(page: Page, people: Person[], query: string) {
  await expect.poll(async () => {
    const { body } = await panelCall<{ readers: Array<{ email: string; counters: Record<string, number> }> }>(page, 'GET', `/workspaces/demo/readers?q=${encodeURIComponent(query)}`);
    const byEmail = new Map((body.readers ?? []).map((r) => [r.email, r]));
    return people.filter((p) => (byEmail.get(p.email)?.counters.reads ?? 0) === (p.reads ?? 0)).length;
  }, { timeout: 30_000, message: 'readers in the panel directory' }).toBe(people.length);
}

export async function fake<T = any>(request: APIRequestContext, path: string): Promise<T> {
  const res = await request.get(`${FAKE}/_fake${path}`);
  expect(res.ok()).toBe(true);
  return res.json() as Promise<T>;
}

export async function cioEmailsById(request: APIRequestContext): Promise<Map<string, { email: string; attributes: Record<string, unknown> }>> {
  const { people } = await fake<{ people: Array<{ cio_id: string; email: string; attributes: Record<string, unknown> }> }>(request, '/people?workspace=demo');
  return new Map(people.map((p) => [p.cio_id, p]));
}

export async function screenshot(page: Page, name: string) {
  await page.screenshot({ path: `test-results/screenshots/${name}.png`, fullPage: true });
}
