/**
 * /v1/panel/*: the editors' panel API. The editor key is exchanged at POST /session for a session
 * (an HttpOnly, Secure, SameSite=Strict cookie plus a CSRF token, or a short-lived bearer token for
 * a panel embedded in a CMS frame). Everything else answers 401 without a valid session before
 * anything else, unknown paths included; 403 for a state-changing call without the CSRF token and
 * for another workspace's data. Workspace data lives under /workspaces/:workspace/.
 */
import { Hono } from 'hono/tiny';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import * as z from '#shared/zod.ts';
import type { AppEnv } from '#edge/env.ts';
import type { EdgeWorkspace } from '#edge/workspaces/edge-workspace.ts';
import {
  abTestInputSchema, membersChangeSchema, sendPreviewSchema, testSendSchema, segmentInputSchema, segmentRuleSchema, sendRequestSchema, sessionRequestSchema,
} from '#shared/panel.ts';
import { allowRequest, hasAllowance } from '#edge/platform/flood-guard.ts';
import { ClientError, parseOr400, readJson } from '#edge/platform/errors.ts';
import { sameString, sha256Hex } from '#shared/crypto.ts';
import { edgeWorkspace } from '#edge/workspaces/config-cache.ts';
import { resolveReader } from '#edge/readers/access.ts';
import type { ReaderKey } from '#edge/readers/names.ts';
import { workspaceCustomerIo } from '#edge/customerio/workspace-gateway.ts';
import { describeFailure } from '#edge/customerio/gateway.ts';
import type { BroadcastList, Overview, PendingSignupPage, ReaderDetail, WelcomeList } from '#shared/panel-api.ts';
import { TtlCache } from '#edge/platform/ttl-cache.ts';
import { checkConnection } from '#edge/workspaces/connection-probes.ts';
import {
  BEARER_TTL_MS, COOKIE_TTL_MS, SESSION_COOKIE, type Session, claimedWorkspace, csrfToken, issueSession, verifySession,
} from './session.ts';
import { unwrap } from './refusal.ts';
import { directoryStub, sendQueueStub } from '#edge/platform/stubs.ts';

type PanelEnv = AppEnv & { Variables: { session: Session; workspace: EdgeWorkspace } };
export const panel = new Hono<PanelEnv>();

const MAX_BODY = 64 * 1024;
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);
const unauthorized = (why: string) => new ClientError(401, `${why}: sign in to the panel with the workspace's editor key (POST /v1/panel/session)`);

// ---- session -------------------------------------------------------------------------------------

const SIGN_IN_FAILURES_PER_SECOND = 0.1;
const SIGN_IN_FAILURE_BURST = 5;

/** The one call that needs no session. Registered before the guard, so it answers first. */
panel.post('/session', async (c) => {
  const input = parseOr400(sessionRequestSchema, await readJson(c.req.raw, 4096), 'sign-in');
  // Guessing editor keys: a client gets 5 wrong tries, then one more every 10 seconds.
  const failures = `panel-sign-in|${c.req.header('cf-connecting-ip') ?? 'local'}`;
  if (!hasAllowance(failures, SIGN_IN_FAILURES_PER_SECOND, Date.now(), SIGN_IN_FAILURE_BURST)) {
    throw new ClientError(429, 'Too many wrong sign-ins from this address; wait 10 seconds and try again', [], { 'retry-after': '10' });
  }
  const ws = await edgeWorkspace(c.env, input.workspace).catch(() => null);
  const given = await sha256Hex(input.editorKey);
  // One answer for an unknown workspace and a wrong key: the panel does not confirm which workspaces exist.
  if (!ws?.editorKeyHash || !sameString(given, ws.editorKeyHash)) {
    allowRequest(failures, SIGN_IN_FAILURES_PER_SECOND, Date.now(), SIGN_IN_FAILURE_BURST);
    throw new ClientError(401, 'Wrong workspace or editor key');
  }
  const ttl = input.mode === 'bearer' ? BEARER_TTL_MS : COOKIE_TTL_MS;
  const expires = Date.now() + ttl;
  const token = await issueSession(c.env.CONFIG_ENCRYPTION_KEY, ws.editorKeyHash, { workspace: ws.id, mode: input.mode, expires });
  if (input.mode === 'bearer') return c.json({ workspace: ws.id, token, expiresAt: expires });
  setCookie(c, SESSION_COOKIE, token, { httpOnly: true, secure: true, sameSite: 'Strict', path: '/v1/panel', maxAge: Math.floor(ttl / 1000) });
  return c.json({ workspace: ws.id, csrfToken: await csrfToken(c.env.CONFIG_ENCRYPTION_KEY, token), expiresAt: expires });
});

/** The guard: a valid session, then the CSRF token on state-changing cookie calls. */
panel.use('*', async (c, next) => {
  const bearer = /^Bearer\s+(\S+)$/i.exec(c.req.header('authorization') ?? '')?.[1];
  const token = bearer ?? getCookie(c, SESSION_COOKIE);
  if (!token) throw unauthorized('No panel session');
  const workspaceId = claimedWorkspace(token);
  const ws = workspaceId ? await edgeWorkspace(c.env, workspaceId).catch(() => null) : null;
  const session = ws ? await verifySession(c.env.CONFIG_ENCRYPTION_KEY, ws.editorKeyHash, token).catch(() => null) : null;
  if (!ws || !session || session.mode !== (bearer ? 'bearer' : 'cookie')) throw unauthorized('The panel session is invalid or has expired');
  if (!bearer && !SAFE_METHODS.has(c.req.method)) {
    const given = c.req.header('x-csrf-token') ?? '';
    if (!sameString(given, await csrfToken(c.env.CONFIG_ENCRYPTION_KEY, token))) {
      throw new ClientError(403, 'Missing or wrong X-CSRF-Token header (the panel gets it at sign-in)');
    }
  }
  c.set('session', session);
  c.set('workspace', ws);
  await next();
});

/** Who is signed in, and the CSRF token again (a reloaded panel has the cookie but lost the token). */
panel.get('/session', async (c) => {
  const { workspace, mode, expires } = c.get('session');
  const token = getCookie(c, SESSION_COOKIE);
  const csrf = mode === 'cookie' && token ? await csrfToken(c.env.CONFIG_ENCRYPTION_KEY, token) : null;
  return c.json({ workspace, mode, expiresAt: expires, csrfToken: csrf });
});

panel.delete('/session', (c) => {
  deleteCookie(c, SESSION_COOKIE, { path: '/v1/panel', secure: true });
  return c.json({ signedOut: true });
});

/** Another workspace's data: refused even with a valid session. */
panel.use('/workspaces/:workspace/*', async (c, next) => {
  if (c.req.param('workspace') !== c.get('session').workspace) {
    throw new ClientError(403, `This session is for workspace "${c.get('session').workspace}", not "${c.req.param('workspace')}"`);
  }
  await next();
});

// ---- audience ------------------------------------------------------------------------------------

const body = async <S extends z.ZodMiniType>(req: Request, schema: S, what: string) => parseOr400(schema, await readJson(req, MAX_BODY), what);
const W = '/workspaces/:workspace';

panel.get(`${W}/overview`, async (c) => {
  const ws = c.get('workspace');
  const dir = directoryStub(c.env, ws.id);
  const [overview, tagHistory] = await Promise.all([dir.overview(), dir.tagHistory(30)]);
  const answer: Overview = {
    workspace: ws.id,
    customerioConfigured: ws.customerioConfigured,
    tagRules: ws.tagRules.map((r) => ({ tag: r.tag, description: r.description ?? '' })),
    limits: ws.limits,
    ...overview,
    tagHistory,
  };
  return c.json(answer);
});

/** The "Connection" card: the same check as the admin API's, for the signed-in workspace. */
panel.get(`${W}/connection`, async (c) => c.json(await checkConnection(c.env, c.get('workspace'), new URL(c.req.url).origin)));

panel.get(`${W}/readers`, async (c) => {
  const q = parseOr400(z.object({ q: z._default(z.string().check(z.maxLength(200)), '') }), c.req.query(), 'search');
  return c.json({ readers: await directoryStub(c.env, c.get('workspace').id).search(q.q) });
});

panel.get(`${W}/readers/:key`, async (c) => {
  const ws = c.get('workspace');
  const key = c.req.param('key');
  const found = await directoryStub(c.env, ws.id).reader(key);
  if (!found) throw new ClientError(404, `No known reader "${key}"`, [{ path: 'key', message: 'not in the directory (readers appear once synced)' }]);
  // Counters and tags as they stand this second; the directory is as of the last sync.
  const live = /^[aeu]:/.test(key) ? await resolveReader(c.env, ws.id, key as ReaderKey) : null;
  const answer: ReaderDetail = { ...found, live };
  return c.json(answer);
});

panel.get(`${W}/segments`, async (c) => c.json({ segments: await directoryStub(c.env, c.get('workspace').id).listSegments() }));

panel.get(`${W}/cio-segments`, async (c) => c.json(await directoryStub(c.env, c.get('workspace').id).cioSegments(c.get('workspace').id)));

panel.post(`${W}/segments/preview`, async (c) => {
  const { rule } = await body(c.req.raw, z.object({ rule: z.nullable(segmentRuleSchema) }), 'segment rule');
  return c.json(await directoryStub(c.env, c.get('workspace').id).preview(rule));
});

panel.post(`${W}/segments`, async (c) => {
  const input = await body(c.req.raw, segmentInputSchema, 'segment');
  return c.json(await directoryStub(c.env, c.get('workspace').id).createSegment(c.get('workspace').id, input), 201);
});

const noSegment = (id: string) => new ClientError(404, `No segment "${id}"`, [{ path: 'id', message: 'no such segment' }]);

panel.get(`${W}/segments/:id`, async (c) => {
  const found = await directoryStub(c.env, c.get('workspace').id).segment(c.req.param('id'));
  if (!found) throw noSegment(c.req.param('id'));
  return c.json(found);
});

/** A page of a segment's members in key order (`after`: the previous page's `next`), for audiences of any size. */
panel.get(`${W}/segments/:id/members`, async (c) => {
  const q = parseOr400(z.object({ after: z._default(z.string().check(z.maxLength(300)), ''), limit: z._default(z.coerce.number().check(z.int(), z.gte(1), z.lte(1000)), 100) }), c.req.query(), 'members page');
  const page = await directoryStub(c.env, c.get('workspace').id).memberPage(c.req.param('id'), q.after, q.limit);
  if (!page) throw noSegment(c.req.param('id'));
  return c.json(page);
});

panel.put(`${W}/segments/:id`, async (c) => {
  const input = await body(c.req.raw, segmentInputSchema, 'segment');
  const updated = await directoryStub(c.env, c.get('workspace').id).updateSegment(c.req.param('id'), input);
  if (!updated) throw noSegment(c.req.param('id'));
  return c.json(updated);
});

panel.delete(`${W}/segments/:id`, async (c) => {
  if (!(await directoryStub(c.env, c.get('workspace').id).deleteSegment(c.req.param('id')))) throw noSegment(c.req.param('id'));
  return c.json({ deleted: c.req.param('id') });
});

for (const [path, mode] of [['members', 'add'], ['members/remove', 'remove']] as const) {
  panel.post(`${W}/segments/:id/${path}`, async (c) => {
    const change = await body(c.req.raw, membersChangeSchema, 'members change');
    const result = await directoryStub(c.env, c.get('workspace').id).changeMembers(c.req.param('id'), change, mode);
    if (!result) throw noSegment(c.req.param('id'));
    return c.json(result);
  });
}

// ---- sending -------------------------------------------------------------------------------------

/** Customer.io's broadcast list changes rarely; a failed listing is asked again soon. */
const broadcastCache = new TtlCache<BroadcastList>((r) => (r.error ? 5_000 : 60_000));

panel.get(`${W}/broadcasts`, async (c) => {
  const ws = c.get('workspace');
  return c.json(await broadcastCache.get(ws.id, async () => {
    const config = await workspaceCustomerIo(c.env, ws.id);
    if (!config) throw new ClientError(409, 'This workspace has no Customer.io credentials');
    const outcome = await config.cio.listBroadcasts();
    return outcome.kind === 'ok'
      ? { broadcasts: outcome.value, error: null }
      : { broadcasts: [], error: `Customer.io could not list broadcasts (${describeFailure(outcome)})` };
  }));
});

panel.post(`${W}/sends`, async (c) => {
  const request = await body(c.req.raw, sendRequestSchema, 'send');
  return c.json({ sends: unwrap(await sendQueueStub(c.env, c.get('workspace').id).enqueue(c.get('workspace').id, request)) }, 202);
});

panel.post(`${W}/sends/preview`, async (c) => {
  const request = await body(c.req.raw, sendPreviewSchema, 'send preview');
  return c.json(unwrap(await sendQueueStub(c.env, c.get('workspace').id).preview(c.get('workspace').id, request)));
});

panel.post(`${W}/sends/test`, async (c) => {
  const input = await body(c.req.raw, testSendSchema, 'test send');
  return c.json(unwrap(await sendQueueStub(c.env, c.get('workspace').id).sendTest(c.get('workspace').id, input)));
});

panel.get(`${W}/sends/results`, async (c) => {
  const key = c.req.query('key') ?? '';
  const results = await sendQueueStub(c.env, c.get('workspace').id).results(c.get('workspace').id, key);
  if (!results) throw new ClientError(404, `No send "${key}"`, [{ path: 'key', message: 'no such send' }]);
  return c.json(results);
});

panel.get(`${W}/sends`, async (c) => c.json({ sends: await sendQueueStub(c.env, c.get('workspace').id).list() }));

panel.get(`${W}/welcomes`, async (c) => c.json<WelcomeList>({
  welcomeMessageId: c.get('workspace').welcomeMessageId,
  welcomes: await sendQueueStub(c.env, c.get('workspace').id).welcomes(),
}));

/** Double opt-in: sign-ups waiting for their confirmation, a page at a time (`after`: the last page's `next`). */
panel.get(`${W}/pending-signups`, async (c) => {
  const q = parseOr400(z.object({ limit: z._default(z.coerce.number().check(z.int(), z.gte(1), z.lte(1000)), 50), after: z.optional(z.string().check(z.maxLength(400))) }), c.req.query(), 'pending sign-ups query');
  return c.json<PendingSignupPage>(await directoryStub(c.env, c.get('workspace').id).pendingSignups(q.limit, q.after ?? null));
});

panel.post(`${W}/ab-tests`, async (c) => {
  const input = await body(c.req.raw, abTestInputSchema, 'A/B test');
  return c.json(unwrap(await sendQueueStub(c.env, c.get('workspace').id).createAbTest(c.get('workspace').id, input)), 201);
});

panel.get(`${W}/ab-tests`, async (c) => c.json({ tests: await sendQueueStub(c.env, c.get('workspace').id).abTests() }));

const noTest = (id: string) => new ClientError(404, `No A/B test "${id}"`, [{ path: 'id', message: 'no such test' }]);

panel.get(`${W}/ab-tests/:id`, async (c) => {
  const test = await sendQueueStub(c.env, c.get('workspace').id).abTest(c.req.param('id'));
  if (!test) throw noTest(c.req.param('id'));
  return c.json(test);
});

panel.post(`${W}/ab-tests/:id/decide`, async (c) => {
  const test = unwrap(await sendQueueStub(c.env, c.get('workspace').id).decideAbTest(c.req.param('id')));
  if (!test) throw noTest(c.req.param('id'));
  return c.json(test);
});
