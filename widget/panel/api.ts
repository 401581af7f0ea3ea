/** The panel API client: the session cookie rides along; state-changing calls carry the CSRF token. */
import type { ErrorBody } from '#shared/protocol.ts';

let csrf = '';
export const setCsrf = (token: string) => { csrf = token; };

export class ApiError extends Error {
  constructor(readonly status: number, readonly body: ErrorBody) {
    super(body.issues?.length ? `${body.error}: ${body.issues.map((i) => `${i.path} ${i.message}`).join('; ')}` : body.error);
  }
}

export async function api<T = any>(method: string, path: string, body?: unknown): Promise<T> {
  const res = await fetch(`/v1/panel${path}`, {
    method,
    credentials: 'same-origin',
    headers: { 'content-type': 'application/json', ...(method === 'GET' ? {} : { 'x-csrf-token': csrf }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const json = await res.json().catch(() => ({ error: `HTTP ${res.status}`, issues: [] }));
  if (!res.ok) {
    if (res.status === 401 && !path.startsWith('/session')) location.hash = '#/login';
    throw new ApiError(res.status, json as ErrorBody);
  }
  return json as T;
}

/** Paths under the signed-in workspace. */
let workspace = '';
export const setWorkspace = (id: string) => { workspace = id; };
export const ws = (path: string) => `/workspaces/${encodeURIComponent(workspace)}${path}`;

export const randomId = (prefix: string) => `${prefix}-${Array.from(crypto.getRandomValues(new Uint8Array(9)), (b) => b.toString(36).padStart(2, '0')).join('').slice(0, 14)}`;
