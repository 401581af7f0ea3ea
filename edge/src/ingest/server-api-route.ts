/**
 * /v1/server/*: the publisher backend's API, authenticated by the workspace's secret key
 * (`ss_sk_<workspace>_…`, Bearer). Identify makes a reader known (and merges what it proves to be
 * one person), track records an event, batch carries many of both (an import), and a reader can be
 * read, deleted or suppressed.
 */
import { Hono } from 'hono/tiny';
import type { AppEnv } from '#edge/env.ts';
import { groupCallSchema, identifyCallSchema, readerQuerySchema, trackCallSchema, trackTime } from '#shared/server-api.ts';
import { ClientError, parseOr400, readJson } from '#edge/platform/errors.ts';
import { bearerToken } from '#edge/workspaces/secrets.ts';
import { sameString, sha256Hex } from '#shared/crypto.ts';
import { normalizeEmail } from '#shared/email-address.ts';
import { cioIdentifier, identifiersOf } from '#shared/identity.ts';
import { edgeWorkspace } from '#edge/workspaces/config-cache.ts';
import type { EdgeWorkspace } from '#edge/workspaces/edge-workspace.ts';
import { resolveReader } from '#edge/readers/access.ts';
import { readerStub } from '#edge/platform/stubs.ts';
import { type ReaderKey, anonymousKey, emailKey, userKey } from '#edge/readers/names.ts';
import { personIdentifiers } from '#edge/customerio/attributes.ts';
import { groupReader, identifyReader, trackEvent, trackEvents, trackTarget } from '#edge/ingest/server-calls.ts';
import { serverBatch } from '#edge/ingest/server-batch.ts';
import { directoryStub, shardFor } from '#edge/platform/stubs.ts';

export const SECRET_KEY_PATTERN = /^ss_sk_([a-z0-9][a-z0-9_-]*)_([A-Za-z0-9-]{12,})$/;

type ServerEnv = AppEnv & { Variables: { workspace: EdgeWorkspace } };
export const serverApi = new Hono<ServerEnv>();

serverApi.use('*', async (c, next) => {
  const key = bearerToken(c.req.header('authorization'), 'workspace secret key');
  // `ss_sk_<workspace>_<secret>`: the secret has no `_`, so the last `_` ends the workspace id.
  const workspaceId = SECRET_KEY_PATTERN.exec(key)?.[1];
  const ws = workspaceId ? await edgeWorkspace(c.env, workspaceId) : null;
  if (!ws || !sameString(await sha256Hex(key), ws.secretKeyHash)) {
    throw new ClientError(403, 'This secret key is not valid for any workspace');
  }
  c.set('workspace', ws);
  await next();
});

const MAX_BODY = 64 * 1024;

serverApi.post('/identify', async (c) => {
  const ws = c.get('workspace');
  const call = parseOr400(identifyCallSchema, await readJson(c.req.raw, MAX_BODY), 'identify call');
  const { target } = await identifyReader(c.env, ws, call);
  return c.json(await resolveReader(c.env, ws.id, target));
});

serverApi.post('/track', async (c) => {
  const ws = c.get('workspace');
  const call = parseOr400(trackCallSchema, await readJson(c.req.raw, MAX_BODY), 'track call');
  const when = trackTime(call, Date.now());
  if ('issue' in when) throw new ClientError(400, 'Invalid track call', [when.issue]);
  return c.json(await trackEvents(c.env, ws, trackTarget(call), [trackEvent(call, when.ts)]), 202);
});

/** Segment's group call: the reader joins (or, with `remove: true`, leaves) a company, a Customer.io object. */
serverApi.post('/group', async (c) => {
  const call = parseOr400(groupCallSchema, await readJson(c.req.raw, MAX_BODY), 'group call');
  return c.json(await groupReader(c.env, c.get('workspace'), call), 202);
});

/** Segment's batch: many identify/track calls, each meaning what the single call means. */
serverApi.post('/batch', async (c) => {
  const { failed, ...result } = await serverBatch(c.env, c.get('workspace'), c.req.raw);
  if (failed.length) {
    // Stored calls count once when re-sent (by messageId), so the whole batch can simply be retried.
    return c.json({
      error: `${failed.length} call(s) could not be stored; send the batch again`,
      issues: failed.map((index) => ({ path: `batch.${index}`, message: 'not stored (the reader was unavailable)' })),
      ...result,
    }, 503, { 'retry-after': '1' });
  }
  return c.json(result, 202);
});

function queryKey(query: Record<string, string>): ReaderKey {
  const q = parseOr400(readerQuerySchema, query, 'reader query');
  return q.email ? emailKey(q.email) : q.userId ? userKey(q.userId) : anonymousKey(q.anonymousId!);
}

serverApi.get('/reader', async (c) => {
  const ws = c.get('workspace');
  const view = await resolveReader(c.env, ws.id, queryKey(c.req.query()));
  if (!view) throw new ClientError(404, 'No such reader', [{ path: 'email', message: 'no reader with this identifier' }]);
  return c.json(view);
});

/** Forget the reader here, and delete (or suppress) the person in Customer.io through the outbox. */
async function removeReader(c: { env: AppEnv['Bindings'] }, ws: EdgeWorkspace, key: ReaderKey, action: 'delete' | 'suppress') {
  const view = await resolveReader(c.env, ws.id, key);
  if (!view) throw new ClientError(404, 'No such reader', [{ path: 'email', message: 'no reader with this identifier' }]);
  const identifiers = await readerStub(c.env, ws.id, view.key).erase();
  if (view.key !== key) await readerStub(c.env, ws.id, key).erase();
  await directoryStub(c.env, ws.id).removeReaders([view.key, key]);
  const cio = identifiers ?? personIdentifiers(view, ws.identifierMode);
  if (cio) {
    const shard = shardFor(c.env, ws.id, view.key, ws.sync.shards);
    await shard.enqueueOps(ws.id, [{ type: 'person', action, identifiers: cio }]);
  }
  return { deleted: view.key, customerio: cio ? action : 'not synced' };
}

serverApi.delete('/reader', async (c) => c.json(await removeReader(c, c.get('workspace'), queryKey(c.req.query()), 'delete')));
serverApi.post('/reader/suppress', async (c) => c.json(await removeReader(c, c.get('workspace'), queryKey(c.req.query()), 'suppress')));

serverApi.post('/reader/unsuppress', async (c) => {
  const ws = c.get('workspace');
  const q = parseOr400(readerQuerySchema, c.req.query(), 'reader query');
  const named = cioIdentifier({ userId: q.userId ?? null, email: q.email ? normalizeEmail(q.email) : null }, ws.identifierMode);
  const identifiers = named ? identifiersOf(named) : null;
  if (!identifiers) throw new ClientError(400, 'Invalid reader query', [{ path: 'anonymousId', message: 'an anonymous reader cannot be unsuppressed; give email or userId' }]);
  const key = q.userId ? userKey(q.userId) : emailKey(q.email!);
  const shard = shardFor(c.env, ws.id, key, ws.sync.shards);
  await shard.enqueueOps(ws.id, [{ type: 'person', action: 'unsuppress', identifiers }]);
  return c.json({ customerio: 'unsuppress' });
});
