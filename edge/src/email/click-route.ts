/**
 * GET /c/{workspace}/{token}?u=<destination>&k=<category>&s=<link signature>&m=<campaign>&d=<delivery>&t=<sent at, s>
 * A tracked link: 302 to the destination when its signature holds (or its origin is on the
 * workspace's allowed origins), a plain error page otherwise, so this is never an open redirect.
 * The reader token only decides what is counted: a link that lost its token still takes the
 * reader where the email promised, and counts nothing.
 *
 * Click-through identity: a human click with a good reader token to a page on the workspace's own
 * origins gets a grant in the destination's fragment (`#ss_grant=…`, shared/email/grants.ts), which
 * the widget there redeems to link the browser to the reader. A fragment never reaches a server
 * and is never in a Referer; other sites (not on the allow-list) never get one.
 */
import { Hono } from 'hono/tiny';
import type { AppEnv } from '#edge/env.ts';
import { edgeWorkspace } from '#edge/workspaces/config-cache.ts';
import { classifyClick, requestFacts } from '#shared/email/classify.ts';
import { allowListed, verifyLink } from '#shared/email/tokens.ts';
import { openReaderToken } from './opened-tokens.ts';
import { DAY_MS, grantIdFor, signGrant, withGrant } from '#shared/email/grants.ts';
import type { EdgeWorkspace } from '#edge/workspaces/edge-workspace.ts';
import type { Env } from '#edge/env.ts';
import { afterResponse, recordHit } from './record.ts';
import { executionContext } from '#edge/platform/after-response.ts';
import { countRejected, signingKeys } from './keys.ts';

const SLUG = /^[A-Za-z0-9_-]{1,100}$/;
const CATEGORY = /^[a-z0-9][a-z0-9_-]{0,31}$/;

function errorPage(status: 400 | 404, title: string, detail: string): Response {
  const html = `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">` +
    `<title>${title}</title><meta name="robots" content="noindex"></head><body style="font:16px/1.5 system-ui,sans-serif;max-width:36rem;margin:4rem auto;padding:0 1rem">` +
    `<h1 style="font-size:1.4rem">${title}</h1><p>${detail}</p></body></html>`;
  return new Response(html, { status, headers: { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store', 'x-robots-tag': 'noindex' } });
}

export const click = new Hono<AppEnv>();

click.get('/*', async (c) => {
  const at = Date.now();
  const [workspaceId = '', token = '', extra] = c.req.path.replace(/^\/c\//, '').split('/');
  const destination = c.req.query('u') ?? '';
  const category = c.req.query('k') || null;
  const signature = c.req.query('s') ?? '';
  const ws = extra === undefined && workspaceId ? await edgeWorkspace(c.env, workspaceId) : null;
  if (!ws) return errorPage(404, 'This link does not work', 'The newsletter this link came from is not known here. Please open the article from the publisher\'s site.');

  let url: URL | null = null;
  try { url = new URL(destination); } catch { url = null; }
  const valid = url !== null && (url.protocol === 'https:' || url.protocol === 'http:') && (category === null || CATEGORY.test(category)) &&
    ((signature && await verifyLink(ws.id, destination, category, signature, await signingKeys(c.env, ws.id))) || allowListed(destination, ws.allowedOrigins));
  const ctx = executionContext(c);
  if (!valid) {
    afterResponse(ctx, () => countRejected(c.env, ws.id, 'click_bad_destination'));
    return errorPage(400, 'This link is not valid', 'The link was changed or has expired, so it is not followed. If you copied it from an email, please use the original link.');
  }

  const sent = Number(c.req.query('t'));
  const sentAt = Number.isFinite(sent) && sent > 1e9 && sent < 1e11 ? sent * 1000 : null;
  const classification = classifyClick(requestFacts(c.req.raw), at, sentAt);
  const campaign = c.req.query('m');
  const delivery = c.req.query('d');
  if (token) {
    afterResponse(ctx, () => recordHit(c.env, {
      type: 'click', workspace: ws.id, token, classification, at, url: destination,
      ...(category ? { category } : {}),
      ...(campaign && SLUG.test(campaign) ? { campaign } : {}),
      ...(delivery && SLUG.test(delivery) ? { delivery } : {}),
    }));
  } else {
    afterResponse(ctx, () => countRejected(c.env, ws.id, 'click_no_token'));
  }
  const human = classification.kind === 'human' && c.req.method === 'GET';
  const grant = token && human ? await clickGrant(c.env, ws, token, destination, campaign ?? null, delivery ?? null, at) : null;
  return new Response(null, { status: 302, headers: { location: grant ? withGrant(destination, grant) : destination, 'cache-control': 'no-store', 'referrer-policy': 'no-referrer-when-downgrade' } });
});

/** A grant for the reader behind `token`, or null: identity off, a bad token, or a destination off the workspace's origins. */
async function clickGrant(env: Env, ws: EdgeWorkspace, token: string, destination: string, campaign: string | null, delivery: string | null, now: number): Promise<string | null> {
  if (!ws.clickIdentity.enabled || !allowListed(destination, ws.allowedOrigins)) return null;
  const keys = await signingKeys(env, ws.id);
  const key = keys[0];
  const check = key ? await openReaderToken(ws.id, token, keys) : null;
  if (!key || !check?.ok || check.readerKey.startsWith('a:')) return null;
  const grantId = await grantIdFor(ws.id, check.readerKey, delivery && SLUG.test(delivery) ? delivery : null, campaign && SLUG.test(campaign) ? campaign : null, key);
  return signGrant(ws.id, { readerKey: check.readerKey, expiresAt: now + ws.clickIdentity.ttlDays * DAY_MS, grantId }, key);
}
