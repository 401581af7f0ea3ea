// Which API a path belongs to, and which workspace its credentials name. Track uses HTTP Basic
// `site_id:track_key`; the App API uses `Bearer <app key>`. Anything else resolves to null -> 401.

import type { ApiName, FakeState, WorkspaceState } from './state.ts';

export interface Classified {
  api: ApiName;
  /** The API base the route tables are relative to ('' for unknown). */
  base: '/api/v1' | '/api/v2' | '/v1' | '/_fake' | '';
  /** Path below the base, starting with '/'. */
  rest: string;
}

export function classify(pathname: string): Classified {
  for (const [base, api] of [['/api/v1', 'track'], ['/api/v2', 'track'], ['/v1', 'app'], ['/_fake', 'control']] as const) {
    if (pathname === base || pathname.startsWith(`${base}/`)) {
      return { api, base, rest: pathname.slice(base.length) || '/' };
    }
  }
  return { api: 'unknown', base: '', rest: pathname };
}

export function resolveWorkspace(fake: FakeState, api: ApiName, authorization: string | undefined): WorkspaceState | null {
  if (!authorization) return null;
  const space = authorization.indexOf(' ');
  if (space < 0) return null;
  const scheme = authorization.slice(0, space).toLowerCase();
  const credential = authorization.slice(space + 1).trim();
  for (const ws of fake.workspaces.values()) {
    const c = ws.config;
    if (api === 'track' && scheme === 'basic' && decodeBasic(credential) === `${c.siteId}:${c.trackKey}`) return ws;
    if (api === 'app' && scheme === 'bearer' && credential === c.appKey) return ws;
  }
  return null;
}

function decodeBasic(credential: string): string | null {
  try {
    return Buffer.from(credential, 'base64').toString('utf8');
  } catch {
    return null;
  }
}
