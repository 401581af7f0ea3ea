// Shared steps for the workers tests: make a workspace through the admin API, send batches the
// way the widget does, and read the fake Customer.io's control surface.
import { SELF } from 'cloudflare:test';
import { inject } from 'vitest';
import type { EventBatchInput, ReaderEventInput } from '#shared/protocol.ts';
import type { WorkspaceInput } from '#shared/workspace.ts';

export const ADMIN = { authorization: 'Bearer test-admin-secret' };
export const ORIGIN = 'https://news.example.com';
export const fakeUrl = () => inject('fakeCioUrl');

export async function fake<T = any>(path: string, init?: { method?: string; body?: unknown }): Promise<T> {
  const res = await fetch(`${fakeUrl()}/_fake${path}`, {
    method: init?.method ?? (init?.body === undefined ? 'GET' : 'POST'),
    headers: { 'content-type': 'application/json' },
    body: init?.body === undefined ? undefined : JSON.stringify(init.body),
  });
  if (!res.ok) throw new Error(`fake ${path}: ${res.status} ${await res.text()}`);
  return res.json() as Promise<T>;
}

export async function resetFake(limits: { trackPerSecond?: number; appPerSecond?: number } = {}) {
  await fake('/reset', { body: limits });
}

let workspaceCounter = 0;
/** A fresh workspace id per test (storage is per test file, the fake is shared). Uses the fake's demo keys. */
/**
 * For tests about what reaches Customer.io, not about pacing: a reader's next identify need not
 * wait the default 5 s (minResyncMs) or, for an open, 60 s (quietResyncMs), nor a part-full batch 1 s (lingerMs).
 */
export const QUICK_SYNC = { sync: { minResyncMs: 200, quietResyncMs: 200, lingerMs: 100 } } as Partial<WorkspaceInput>;

export async function createWorkspace(overrides: Partial<WorkspaceInput> = {}, id = `ws${Date.now().toString(36)}${workspaceCounter++}`) {
  const res = await SELF.fetch(`https://edge.test/v1/admin/workspaces/${id}`, {
    method: 'PUT',
    headers: { ...ADMIN, 'content-type': 'application/json' },
    body: JSON.stringify({
      allowedOrigins: [ORIGIN],
      customerio: { siteId: 'demo_site', trackKey: 'demo_track_key', appKey: 'demo_app_key' },
      ...overrides,
    } satisfies WorkspaceInput),
  });
  if (res.status !== 201 && res.status !== 200) throw new Error(`create workspace: ${res.status} ${await res.text()}`);
  const body = (await res.json()) as { secretKey?: string };
  return { id, secretKey: body.secretKey! };
}

export function postEvents(batch: EventBatchInput | unknown, headers: Record<string, string> = {}) {
  return SELF.fetch('https://edge.test/v1/events', {
    method: 'POST',
    headers: { 'content-type': 'text/plain', origin: ORIGIN, ...headers },
    body: typeof batch === 'string' ? batch : JSON.stringify(batch),
  });
}

let eventCounter = 0;
export const eventId = () => `evt${Date.now().toString(36)}${(eventCounter++).toString(36).padStart(6, '0')}`;

export function page(anonymousId: string, over: Partial<Extract<ReaderEventInput, { type: 'page' }>> = {}): ReaderEventInput {
  const id = eventId();
  // A distinct article each time: the same URL again within 30 minutes is a continued read.
  return { id, type: 'page', anonymousId, ts: Date.now(), url: `https://news.example.com/a/${id}`, category: 'crypto', engagedMs: 90_000, scrollDepth: 0.8, ...over };
}

export function serverApi(secretKey: string, path: string, init: { method?: string; body?: unknown } = {}) {
  return SELF.fetch(`https://edge.test/v1/server${path}`, {
    method: init.method ?? (init.body === undefined ? 'GET' : 'POST'),
    headers: { authorization: `Bearer ${secretKey}`, 'content-type': 'application/json' },
    body: init.body === undefined ? undefined : JSON.stringify(init.body),
  });
}

/** Polls until `check` returns a value (not undefined/false) or the time is up. */
export async function eventually<T>(check: () => Promise<T | undefined | false | null>, timeoutMs = 20_000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await check();
      if (value !== undefined && value !== false && value !== null) return value;
    } catch (e) {
      last = e;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
}
