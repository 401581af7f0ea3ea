// Shared steps for the panel's workers tests: a workspace with an editor key, a signed-in session
// (cookie + CSRF token), and readers made known and synced through the server API.
import { SELF } from 'cloudflare:test';
import { createWorkspace, eventually, page, postEvents, serverApi } from './helpers.ts';

export const EDITOR_KEY = 'test-editor-key-0001';

export interface PanelSession { workspace: string; secretKey: string; cookie: string; csrf: string }

export async function panelWorkspace(): Promise<PanelSession> {
  const ws = await createWorkspace({ editorKey: EDITOR_KEY });
  return { ...(await signIn(ws.id)), secretKey: ws.secretKey };
}

export async function signIn(workspace: string, editorKey = EDITOR_KEY) {
  const res = await SELF.fetch('https://edge.test/v1/panel/session', {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ workspace, editorKey }),
  });
  if (res.status !== 200) throw new Error(`sign-in: ${res.status} ${await res.text()}`);
  const cookie = res.headers.get('set-cookie')!.split(';')[0]!;
  const { csrfToken } = (await res.json()) as { csrfToken: string };
  return { workspace, cookie, csrf: csrfToken };
}

export async function panelApi<T = any>(s: Pick<PanelSession, 'cookie' | 'csrf'>, method: string, path: string, body?: unknown): Promise<{ status: number; body: T }> {
  const res = await SELF.fetch(`https://edge.test/v1/panel${path}`, {
    method,
    headers: { cookie: s.cookie, 'x-csrf-token': s.csrf, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as T };
}

/** Identifies readers through the server API and waits until the directory holds them all. */
export async function seedReaders(s: PanelSession, people: Array<{ email: string; userId?: string; traits?: Record<string, unknown> }>) {
  for (const p of people) {
    const res = await serverApi(s.secretKey, '/identify', { body: { userId: p.userId, traits: { email: p.email, ...p.traits } } });
    if (res.status !== 200) throw new Error(`identify ${p.email}: ${res.status} ${await res.text()}`);
  }
  await eventually(async () => {
    const { body } = await panelApi(s, 'GET', `/workspaces/${s.workspace}/readers?q=`);
    const emails = new Set((body.readers as Array<{ email: string }>).map((r) => r.email));
    return people.every((p) => emails.has(p.email.toLowerCase()));
  }, 30_000, 'readers in the panel directory');
}

/** Readers with reads (engagement score), then identified with traits: the shapes the segment tests need. */
export async function seedEngagedReaders(s: PanelSession, people: Array<{ email: string; userId?: string; reads: number; traits?: Record<string, unknown> }>) {
  for (const p of people) {
    const anon = `anon-${p.email.replace(/[^a-z0-9]/gi, '').slice(0, 40)}`;
    if (p.reads > 0) {
      const res = await postEvents({ workspace: s.workspace, events: Array.from({ length: p.reads }, (_, i) => page(anon, { url: `https://news.example.com/a/${i}` })) });
      if (res.status !== 202) throw new Error(`events: ${res.status} ${await res.text()}`);
    }
    const res = await serverApi(s.secretKey, '/identify', { body: { userId: p.userId, anonymousId: p.reads > 0 ? anon : undefined, traits: { email: p.email, ...p.traits } } });
    if (res.status !== 200) throw new Error(`identify ${p.email}: ${res.status} ${await res.text()}`);
  }
  await eventually(async () => {
    const { body } = await panelApi(s, 'GET', `/workspaces/${s.workspace}/readers?q=`);
    const byEmail = new Map((body.readers as Array<{ email: string; counters: Record<string, number> }>).map((r) => [r.email, r]));
    return people.every((p) => (byEmail.get(p.email)?.counters.reads ?? 0) === p.reads);
  }, 30_000, 'readers (with their reads) in the panel directory');
}

export const tagRule = (tag: string) => ({ fact: 'tags', op: 'contains', value: tag });
