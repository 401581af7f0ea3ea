/**
 * GET /confirm/{workspace}/{token}: a double opt-in confirm link (README "Double opt-in"). The
 * token is checked here (sealed, this workspace's, not expired: shared/email/confirm-tokens.ts);
 * the reader's object records the confirmation once. Whatever happens the answer is a plain page
 * (optin/pages.ts): a bad, expired or used link, an unknown workspace, even a failure inside.
 */
import { Hono } from 'hono/tiny';
import type { AppEnv } from '#edge/env.ts';
import { edgeWorkspace } from '#edge/workspaces/config-cache.ts';
import { signingKeys } from '#edge/email/keys.ts';
import { verifyConfirmToken } from '#shared/email/confirm-tokens.ts';
import { readerStub } from '#edge/platform/stubs.ts';
import type { ReaderKey } from '#edge/readers/names.ts';
import { CONFIRM_PAGE_HEADERS, type ConfirmPage, confirmPage } from './pages.ts';

export const confirm = new Hono<AppEnv>();

const WORKSPACE = /^[a-z0-9][a-z0-9_-]{0,63}$/;

confirm.get('/:workspace/:token', async (c) => {
  const page = await outcome(c.env, c.req.param('workspace'), c.req.param('token')).catch((error: unknown) => {
    console.error('confirm link failed:', error);
    return 'unavailable' as const;
  });
  const { status, html } = confirmPage(page);
  return c.body(html, status, CONFIRM_PAGE_HEADERS);
});

// Anything else under /confirm (no token, extra segments) is a bad link too, not the JSON 404.
confirm.all('*', (c) => {
  const { html } = confirmPage('invalid');
  return c.body(html, 400, CONFIRM_PAGE_HEADERS);
});

async function outcome(env: AppEnv['Bindings'], workspace: string, token: string): Promise<ConfirmPage> {
  if (!WORKSPACE.test(workspace)) return 'invalid';
  const ws = await edgeWorkspace(env, workspace);
  if (!ws) return 'invalid';
  const check = await verifyConfirmToken(ws.id, token, await signingKeys(env, ws.id), Date.now());
  if (!check.ok) return check.reason === 'expired' ? 'expired' : 'invalid';
  const result = await readerStub(env, ws.id, check.readerKey as ReaderKey).confirm();
  // A forgotten sign-up (never confirmed in time) has nothing left to confirm.
  return result === 'unknown' ? 'expired' : result;
}
