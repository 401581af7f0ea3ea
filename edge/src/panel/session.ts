/**
 * Panel sessions, stateless: a token `<payload>.<mac>` where the MAC (HMAC-SHA256 under a key
 * derived from CONFIG_ENCRYPTION_KEY) also covers the workspace's editor-key hash, so rotating the
 * editor key ends every session at once. The CSRF token is a MAC of the session token: nothing to
 * store, and a page of another origin can read neither.
 */
import { hmacSha256, sameString } from '#shared/crypto.ts';
import { b64url } from '#shared/encoding.ts';

export const SESSION_COOKIE = 'ss_panel';
export const COOKIE_TTL_MS = 12 * 3600_000;
/** Bearer tokens (a panel embedded in a CMS frame, where SameSite=Strict cookies are not sent) live shorter. */
export const BEARER_TTL_MS = 3600_000;

export interface Session { workspace: string; mode: 'cookie' | 'bearer'; expires: number }

const encoder = new TextEncoder();
async function mac(secret: string | undefined, text: string): Promise<string> {
  if (!secret) throw new Error('CONFIG_ENCRYPTION_KEY is not set: run `wrangler secret put CONFIG_ENCRYPTION_KEY`');
  // A key of its own, derived from the encryption key: a session MAC is no use anywhere else.
  return b64url(await hmacSha256(`sharpsend-panel-session|${secret}`, text));
}

export async function issueSession(secret: string | undefined, editorKeyHash: string, session: Session): Promise<string> {
  const payload = b64url(encoder.encode(JSON.stringify({ w: session.workspace, m: session.mode, e: session.expires, n: crypto.randomUUID() })));
  return `${payload}.${await mac(secret, `${payload}|${editorKeyHash}`)}`;
}

/** The workspace a token claims, before it is checked (to look up that workspace's editor-key hash). */
export function claimedWorkspace(token: string): string | null {
  try {
    const payload = JSON.parse(atob(token.split('.')[0]!.replace(/-/g, '+').replace(/_/g, '/'))) as { w?: unknown };
    return typeof payload.w === 'string' ? payload.w : null;
  } catch {
    return null;
  }
}

export async function verifySession(secret: string | undefined, editorKeyHash: string | null, token: string, now = Date.now()): Promise<Session | null> {
  const [payload, given] = token.split('.');
  if (!payload || !given || !editorKeyHash) return null;
  if (!sameString(await mac(secret, `${payload}|${editorKeyHash}`), given)) return null;
  const claims = JSON.parse(atob(payload.replace(/-/g, '+').replace(/_/g, '/'))) as { w: string; m: 'cookie' | 'bearer'; e: number };
  if (claims.e <= now) return null;
  return { workspace: claims.w, mode: claims.m, expires: claims.e };
}

export const csrfToken = (secret: string | undefined, sessionToken: string) => mac(secret, `csrf|${sessionToken}`);
