// Property-based fuzzing of every public endpoint inside workerd (fast-check): generated methods,
// paths, query strings, headers and bodies, both random and "a valid request with one field
// broken". The property is the edge's contract for bad input: never a 5xx; a 4xx JSON answer has
// `error` and, for a validation failure, `issues` of `{ path, message }`; and the Worker is healthy
// afterwards. `npm test` runs a short pass (FUZZ_RUNS per property, default below); `npm run fuzz`
// runs a long one. A failure prints fast-check's seed and the shrunk request: keep that case as a
// regular test (test/edge/fuzz-found.test.ts) once it is fixed.
import { SELF, env } from 'cloudflare:test';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import fc from 'fast-check';
import { webhookSignature } from '#shared/email/webhook.ts';
import { NO_TOKEN } from '#shared/email/tokens.ts';
import { ADMIN, ORIGIN, createWorkspace, page, postEvents } from './helpers.ts';

const RUNS = Number((env as { FUZZ_RUNS?: string }).FUZZ_RUNS || 100);
const EDGE = 'https://edge.test';
/** A long run gets the time it needs (a request takes a few milliseconds in workerd). */
const TIMEOUT = Math.max(60_000, RUNS * 200);
const EDITOR_KEY = 'fuzz-editor-key-0123';
const WEBHOOK_SECRET = 'fuzz-webhook-secret-0123';

let ws: string;
let secretKey: string;
let panelToken: string;
let checkWs: { id: string; secretKey: string };
const errors = vi.spyOn(console, 'error');

beforeAll(async () => {
  ({ id: ws, secretKey } = await createWorkspace({ editorKey: EDITOR_KEY }));
  // A second workspace the fuzzer never names: the health check after the storm uses it.
  checkWs = await createWorkspace();
  const secret = await SELF.fetch(`${EDGE}/v1/admin/workspaces/${ws}/webhook-secret`, { method: 'PUT', headers: ADMIN, body: JSON.stringify({ secret: WEBHOOK_SECRET }) });
  expect(secret.status).toBe(200);
  const session = await SELF.fetch(`${EDGE}/v1/panel/session`, { method: 'POST', body: JSON.stringify({ workspace: ws, editorKey: EDITOR_KEY, mode: 'bearer' }) });
  expect(session.status).toBe(200);
  panelToken = ((await session.json()) as { token: string }).token;
});

afterAll(() => errors.mockRestore());

// ---- generators ------------------------------------------------------------------------------

const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'HEAD'] as const;
const method = fc.constantFrom(...METHODS);

/** A path segment: words the routes know, odd encodings, and anything at all. */
const segment = fc.oneof(
  fc.constantFrom('', '.', '..', '%', '%zz', '%E0%A4%A', '%00', '%2F', 'x'.repeat(300), NO_TOKEN, 'k1.AAAA', 'k1.abc.def', 'e:a@b.c', 'a.gif'),
  fc.webSegment(),
  fc.string({ maxLength: 40 }).map(encodeURIComponent),
  fc.string({ unit: 'binary', maxLength: 20 }).map(encodeURIComponent),
);
const workspaceSegment = () => fc.oneof(fc.constant(ws), segment);

const queryKey = fc.oneof(
  fc.constantFrom('email', 'userId', 'anonymousId', 'workspace', 'q', 'u', 'k', 's', 'm', 'd', 't', 'days', 'limit', 'key', 'cursor'),
  fc.string({ maxLength: 10 }),
);
const queryValue = fc.oneof(
  fc.constantFrom('', 'a@b.c', 'https://news.example.com/a', 'javascript:alert(1)', '1', '-1', '1e400', 'NaN', '%', '%zz', '[]', '{}'),
  fc.string({ maxLength: 60 }),
);
const query = fc.oneof(
  fc.constant(''),
  fc.array(fc.tuple(queryKey, queryValue), { maxLength: 5 }).map((pairs) => pairs.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join('&')),
  fc.constantFrom('%', '%zz=1', 'email=%E0%A4%A', '&&==', 'u'),
);

/** Header values Headers accepts (Latin-1, no line breaks). */
const headerValue = fc.oneof(
  fc.constantFrom('', 'application/json', 'text/plain', 'multipart/form-data; boundary=x', 'Bearer', 'Bearer x', 'null', ORIGIN, 'https://evil.example', '1.2.3.4', '::1'),
  fc.string({ maxLength: 60 }).map((s) => s.replace(/[^\x20-\x7e]/g, '')),
);
const headerName = fc.oneof(
  fc.constantFrom('content-type', 'origin', 'authorization', 'cookie', 'user-agent', 'cf-connecting-ip', 'x-cio-timestamp', 'x-cio-signature',
    'x-csrf-token', 'sec-purpose', 'accept', 'if-none-match', 'range', 'access-control-request-method'),
  fc.stringMatching(/^x-[a-z0-9-]{1,12}$/),
);
const randomHeaders = fc.dictionary(headerName, headerValue, { maxKeys: 5 });

/** Credentials as they come: right, wrong, absent. */
const credentials = () => fc.constantFrom<Record<string, string>>(
  {}, ADMIN, { authorization: `Bearer ${secretKey}` }, { authorization: `Bearer ${panelToken}` }, { authorization: 'Bearer wrong' },
  { authorization: 'Basic Zm9vOmJhcg==' }, { cookie: `ss_panel=${panelToken}` }, { cookie: 'ss_panel=garbage' },
);

/** Any body: JSON of any shape, text, nothing. */
const anyBody = fc.oneof(
  fc.jsonValue().map((v) => JSON.stringify(v)),
  fc.string({ maxLength: 200 }),
  fc.constantFrom('', ' ', '{', '[]', 'null', '{"__proto__":{"x":1}}', '{"constructor":{"prototype":{}}}', '1e999', '"\\ud800"'),
);

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

/** Every path into a JSON value (objects and arrays), the root included. */
function pathsOf(value: Json, at: (string | number)[] = []): (string | number)[][] {
  const out = [at];
  if (Array.isArray(value)) value.forEach((v, i) => out.push(...pathsOf(v, [...at, i])));
  else if (value && typeof value === 'object') for (const [k, v] of Object.entries(value)) out.push(...pathsOf(v, [...at, k]));
  return out;
}

/** A copy of `value` with the thing at `path` replaced (or removed when `replacement` is undefined). */
function replaced(value: Json, path: (string | number)[], replacement: Json | undefined): Json | undefined {
  if (path.length === 0) return replacement;
  const copy: any = Array.isArray(value) ? [...value] : { ...(value as object) };
  const [head, ...rest] = path;
  const next = replaced(copy[head!], rest, replacement);
  if (next === undefined) {
    if (Array.isArray(copy)) copy.splice(head as number, 1);
    else delete copy[head!];
  } else copy[head!] = next;
  return copy;
}

/** Mostly `main`, sometimes anything else: a route's own method or credentials, with strays. */
const mostly = <T>(main: T, ...others: T[]) => fc.oneof({ weight: 3, arbitrary: fc.constant(main) }, { weight: 1, arbitrary: fc.constantFrom(...others) });

/** A valid body with one field broken: replaced by any JSON, or removed. */
const broken = (valid: () => Json) => fc.tuple(fc.nat(), fc.option(fc.jsonValue() as fc.Arbitrary<Json>, { nil: undefined })).map(([n, replacement]) => {
  const template = valid();
  const paths = pathsOf(template);
  const body = replaced(template, paths[n % paths.length]!, replacement);
  return body === undefined ? '' : JSON.stringify(body);
});

// Valid bodies per endpoint, each built fresh (ids and times of now).
const validEvents = (): Json => ({ workspace: ws, events: [page(`anon-fuzz-${Math.random().toString(36).slice(2, 10)}`) as unknown as Json] });
const validIdentify = (): Json => ({ userId: 'fuzz-user', traits: { email: 'fuzz@example.com', plan: 'pro' }, messageId: `m${Math.random()}` });
const validTrack = (): Json => ({ userId: 'fuzz-user', event: 'Article Read', properties: { a: 1 }, timestamp: new Date().toISOString() });
const validGroup = (): Json => ({ userId: 'fuzz-user', groupId: 'acme', traits: { name: 'Acme' }, objectTypeId: '1' });
const validBatch = (): Json => ({ batch: [{ type: 'identify', ...(validIdentify() as object) }, { type: 'track', ...(validTrack() as object) }] });
const validWorkspace = (): Json => ({ allowedOrigins: [ORIGIN], customerio: { siteId: 'demo_site', trackKey: 'demo_track_key', appKey: 'demo_app_key' }, editorKey: EDITOR_KEY });
const validSegment = (): Json => ({ name: 'Fuzz', rule: { all: [{ field: 'score', op: 'gte', value: 10 }] } });
const validSend = (): Json => ({ broadcastId: 1, audience: { kind: 'segment', segmentId: 'x' }, idempotencyKey: 'k' });
const validWebhook = (): Json => ({
  event_id: `ev${Math.random().toString(36).slice(2)}`, object_type: 'email', metric: 'opened', timestamp: Math.floor(Date.now() / 1000),
  data: { identifiers: { id: 'fuzz-user', email: 'fuzz@example.com' }, delivery_id: 'dlv1', campaign_id: 1, customer_id: 'fuzz-user' },
});

// ---- the property --------------------------------------------------------------------------

interface Req { method: string; path: string; query: string; headers: Record<string, string>; body?: string }

const show = (r: Req) => `${r.method} ${r.path}${r.query ? `?${r.query}` : ''} headers=${JSON.stringify(r.headers)} body=${JSON.stringify(r.body)?.slice(0, 300)}`;

/** Sends one request and checks the contract; returns the status. */
async function check(r: Req): Promise<number> {
  const init: RequestInit = { method: r.method, headers: r.headers, redirect: 'manual' };
  if (r.body !== undefined && !['GET', 'HEAD'].includes(r.method)) init.body = r.body;
  const res = await SELF.fetch(`${EDGE}${r.path}${r.query ? `?${r.query}` : ''}`, init);
  const text = new TextDecoder().decode(await res.arrayBuffer());
  if (res.status >= 500) throw new Error(`${res.status} for ${show(r)}: ${text.slice(0, 300)}`);
  if (res.status >= 400 && r.method !== 'HEAD' && (res.headers.get('content-type') ?? '').includes('application/json')) {
    let body: { error?: unknown; issues?: unknown };
    try { body = JSON.parse(text); } catch { throw new Error(`${res.status} with a JSON content type but no JSON for ${show(r)}: ${text.slice(0, 200)}`); }
    if (typeof body.error !== 'string' || !body.error) throw new Error(`${res.status} without "error" for ${show(r)}: ${text.slice(0, 300)}`);
    if (body.issues !== undefined) {
      if (!Array.isArray(body.issues)) throw new Error(`"issues" is not a list for ${show(r)}: ${text.slice(0, 300)}`);
      for (const issue of body.issues as { path?: unknown; message?: unknown }[]) {
        if (typeof issue?.path !== 'string' || typeof issue?.message !== 'string' || !issue.message) {
          throw new Error(`an issue without path and message for ${show(r)}: ${text.slice(0, 300)}`);
        }
      }
    }
    // A validation failure names what is wrong.
    if (res.status === 400 && !(Array.isArray(body.issues) && body.issues.length > 0)) {
      throw new Error(`400 without issues for ${show(r)}: ${text.slice(0, 300)}`);
    }
  }
  return res.status;
}

const property = (arb: fc.Arbitrary<Req>) => fc.assert(fc.asyncProperty(arb, async (r) => { await check(r); }), { numRuns: RUNS });

const request = (paths: fc.Arbitrary<string>, bodies: fc.Arbitrary<string | undefined>, methods: fc.Arbitrary<string> = method, auth = credentials()) =>
  fc.record({ method: methods, path: paths, query, headers: fc.tuple(auth, randomHeaders).map(([a, h]) => ({ ...h, ...a })), body: bodies });

describe('fuzzing every public endpoint (never a 5xx, 4xx bodies name the field)', () => {
  it('POST /v1/events: any body, broken batches, odd origins and headers', async () => {
    await property(request(fc.constant('/v1/events'), fc.oneof({ weight: 1, arbitrary: anyBody }, { weight: 3, arbitrary: broken(validEvents) }),
      mostly('POST', 'OPTIONS', 'GET', 'PUT'), mostly<Record<string, string>>({ origin: ORIGIN }, {}, { origin: 'https://evil.example' }, { origin: 'null' })));
  }, TIMEOUT);

  it('/v1/server/*: identify, track, group, batch, reader GET/DELETE, suppress, unsuppress', async () => {
    const paths = fc.oneof(
      fc.constantFrom('/v1/server/identify', '/v1/server/track', '/v1/server/group', '/v1/server/batch', '/v1/server/reader',
        '/v1/server/reader/suppress', '/v1/server/reader/unsuppress'),
      segment.map((s) => `/v1/server/${s}`),
    );
    const bodies = fc.oneof(anyBody, broken(validIdentify), broken(validTrack), broken(validGroup), broken(validBatch));
    await property(request(paths, bodies, fc.oneof({ weight: 3, arbitrary: fc.constant('POST') }, fc.constantFrom('GET', 'DELETE', 'PUT')),
      mostly<Record<string, string>>({ authorization: `Bearer ${secretKey}` }, {}, { authorization: 'Bearer nope' }, ADMIN)));
  }, TIMEOUT);

  it('/v1/admin/workspaces/*: settings, sync, check, dead letters, email, keys, links, backfill', async () => {
    const sub = fc.constantFrom('', '/sync', '/check', '/dead-letters', '/dead-letters/replay', '/email', '/signing-keys', '/signing-keys/k1',
      '/webhook-secret', '/links', '/backfill');
    const paths = fc.oneof(
      fc.tuple(workspaceSegment(), sub).map(([w, s]) => `/v1/admin/workspaces/${w}${s}`),
      segment.map((s) => `/v1/admin/${s}`),
    );
    await property(request(paths, fc.oneof(anyBody, broken(validWorkspace), fc.jsonValue().map((v) => JSON.stringify({ urls: v }))), method,
      mostly<Record<string, string>>(ADMIN, {}, { authorization: 'Bearer wrong' }, { authorization: `Bearer ${secretKey}` })));
  }, TIMEOUT);

  it('/v1/panel/*: session, overview, readers, segments, sends, welcomes, A/B tests', async () => {
    const sub = fc.oneof(
      fc.constantFrom('/overview', '/connection', '/readers', '/segments', '/segments/preview', '/cio-segments', '/broadcasts', '/sends', '/welcomes', '/ab-tests'),
      segment.map((s) => `/readers/${s}`),
      fc.tuple(segment, fc.constantFrom('', '/members', '/add', '/remove', '/decide')).map(([id, s]) => `/segments/${id}${s}`),
      fc.tuple(segment, fc.constantFrom('', '/decide')).map(([id, s]) => `/ab-tests/${id}${s}`),
    );
    const paths = fc.oneof(
      fc.constant('/v1/panel/session'),
      fc.tuple(workspaceSegment(), sub).map(([w, s]) => `/v1/panel/workspaces/${w}${s}`),
      segment.map((s) => `/v1/panel/${s}`),
    );
    const bodies = fc.oneof(anyBody, broken(validSegment), broken(validSend),
      broken(() => ({ workspace: ws, editorKey: 'wrong-key-0000', mode: 'bearer' })));
    await property(request(paths, bodies, method,
      mostly<Record<string, string>>({ authorization: `Bearer ${panelToken}` }, {}, { authorization: 'Bearer x.y' }, { cookie: `ss_panel=${panelToken}` })));
  }, TIMEOUT);

  it('/o/* pixel, /c/* click and /confirm/* links: any path, any query, any user agent', async () => {
    const paths = fc.oneof(
      fc.tuple(workspaceSegment(), segment, segment, segment).map(([w, t, c, d]) => `/o/${w}/${t}/${c}/${d}.gif`),
      fc.array(segment, { maxLength: 6 }).map((parts) => `/o/${parts.join('/')}`),
      fc.tuple(workspaceSegment(), segment).map(([w, t]) => `/c/${w}/${t}`),
      fc.array(segment, { maxLength: 4 }).map((parts) => `/c/${parts.join('/')}`),
      // Double opt-in confirm links: never a 500 whatever the token.
      fc.tuple(workspaceSegment(), segment).map(([w, t]) => `/confirm/${w}/${t}`),
      fc.array(segment, { maxLength: 4 }).map((parts) => `/confirm/${parts.join('/')}`),
    );
    await property(request(paths, fc.constant(undefined), fc.constantFrom('GET', 'GET', 'HEAD', 'POST'), fc.constant({})));
  }, TIMEOUT);

  it('/v1/webhooks/customerio/*: unsigned, badly signed and correctly signed bodies of any shape', async () => {
    const signed = fc.tuple(fc.oneof(anyBody, broken(validWebhook)), fc.constantFrom(0, 0, 400, -400)).map(async ([body, skew]) => {
      const ts = String(Math.floor(Date.now() / 1000) + skew);
      return { body, headers: { 'x-cio-timestamp': ts, 'x-cio-signature': await webhookSignature(WEBHOOK_SECRET, ts, body) } };
    });
    await fc.assert(fc.asyncProperty(
      fc.oneof(fc.constant(ws), segment), signed, randomHeaders, fc.boolean(),
      async (w, pending, headers, sign) => {
        const { body, headers: sig } = await pending;
        await check({ method: 'POST', path: `/v1/webhooks/customerio/${w}`, query: '', headers: sign ? { ...headers, ...sig } : headers, body });
      },
    ), { numRuns: RUNS });
  }, TIMEOUT);

  it('/healthz, static files and unknown paths: any method, any path', async () => {
    const paths = fc.oneof(
      fc.constantFrom('/healthz', '/', '/sharpsend.js', '/panel/', '/panel/index.html', '/demo/', '/v1', '/v1/', '/v1/local/demo'),
      fc.array(segment, { minLength: 1, maxLength: 4 }).map((parts) => `/${parts.join('/')}`),
      fc.tuple(fc.constantFrom('/v1/', '/v1/events/', '/healthz/', '/panel/'), segment).map(([p, s]) => `${p}${s}`),
    );
    await property(request(paths, fc.option(anyBody, { nil: undefined })));
  }, TIMEOUT);

  it('afterwards the Worker is healthy: /healthz 200, a valid event accepted, no error logged', async () => {
    const health = await SELF.fetch(`${EDGE}/healthz`);
    expect(health.status).toBe(200);
    const res = await postEvents({ workspace: checkWs.id, events: [page('anon-after-fuzz')] });
    expect(res.status).toBe(202);
    expect(await res.json()).toMatchObject({ accepted: 1, duplicates: 0 });
    // A 500 is logged by the app's error handler; a hit that failed to record after its answer, by record.ts.
    await new Promise((r) => setTimeout(r, 200));
    const bugs = errors.mock.calls.filter((args) => /failed/.test(String(args[0])));
    expect(bugs.map((args) => args.map(String).join(' ').slice(0, 300))).toEqual([]);
  });
});
