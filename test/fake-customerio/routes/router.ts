// Route tables and the tiny matcher the server uses. Handlers are synchronous functions from a
// parsed request to a Reply, so each route file reads as a list of endpoints and nothing else.

import type { FakeState, WorkspaceState } from '../state.ts';

export interface Reply {
  status: number;
  /** JSON body; undefined means an empty body. */
  body?: unknown;
  /** A non-JSON body (an HTML error page), sent as it is instead of `body`. */
  raw?: { contentType: string; text: string };
  headers?: Record<string, string>;
}

export interface RouteContext {
  fake: FakeState;
  ws: WorkspaceState;
  params: Record<string, string>;
  query: URLSearchParams;
  body: unknown;
  /** Raw request body, for size limits measured in bytes. */
  rawBody: string;
  now: number;
  /** An injected 207 (`POST /_fake/failures {status: 207}`): v2 batch refuses its first item. */
  failFirstItem?: boolean;
}

export interface Route<Ctx = RouteContext> {
  method: string;
  /** Path relative to the API base, with `:name` segments, e.g. `/customers/:id/events`. */
  path: string;
  handle(ctx: Ctx): Reply;
}

export function matchRoute<R extends { method: string; path: string }>(
  routes: R[],
  method: string,
  path: string,
): { route: R; params: Record<string, string> } | null {
  const parts = path.split('/');
  for (const route of routes) {
    if (route.method !== method) continue;
    const pattern = route.path.split('/');
    if (pattern.length !== parts.length) continue;
    const params: Record<string, string> = {};
    let ok = true;
    for (let i = 0; i < pattern.length && ok; i++) {
      const p = pattern[i] as string;
      const v = parts[i] as string;
      if (p.startsWith(':')) {
        try {
          params[p.slice(1)] = decodeURIComponent(v);
        } catch {
          ok = false;
        }
      } else ok = p === v;
    }
    if (ok) return { route, params };
  }
  return null;
}

export const ok = (body: unknown = {}): Reply => ({ status: 200, body });

/** Track v1 error body: `{meta:{errors:[...]}}` ([TRK] responses.400). */
export const trackError = (status: number, messages: string[]): Reply => ({ status, body: { meta: { errors: messages } } });

/** App API error body in the JSON:API style the broadcast docs show. */
export const appError = (status: number, detail: string): Reply => ({ status, body: { errors: [{ detail, status: String(status) }] } });

/** Transactional errors use `{meta:{error}}` (go-customerio parses meta.error). */
export const transactionalError = (status: number, message: string): Reply => ({ status, body: { meta: { error: message } } });

export function intParam(v: string | undefined): number | null {
  if (v === undefined || !/^\d+$/.test(v)) return null;
  return Number(v);
}

/** Query integer with a default, or null when present but not a non-negative integer. */
export function intQuery(query: URLSearchParams, name: string, fallback: number): number | null {
  const v = query.get(name);
  if (v === null || v === '') return fallback;
  return /^\d+$/.test(v) ? Number(v) : null;
}
