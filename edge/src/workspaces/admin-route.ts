/**
 * The admin API (Bearer ADMIN_SECRET): create and update workspaces, watch their sync, read and
 * replay dead letters. Customer.io keys go in and never come out.
 */
import { Hono } from 'hono/tiny';
import * as z from '#shared/zod.ts';
import type { AppEnv, Env } from '#edge/env.ts';
import { type CustomerIoCredentials, workspaceInputSchema } from '#shared/workspace.ts';
import { customerIo, describeFailure } from '#edge/customerio/gateway.ts';
import { ClientError, parseOr400, readJson } from '#edge/platform/errors.ts';
import { existingWorkspace, requireAdmin, workspaceId } from './admin-auth.ts';
import { allShards, workspaceStub } from '#edge/platform/stubs.ts';
import { forgetWorkspaceEverywhere } from './forget-everywhere.ts';
import { checkConnection } from './connection-probes.ts';
import type { DeadLetter, ShardStats } from '#edge/sync/sync-shard.ts';
import { SECRET_KEY_PATTERN } from '#edge/ingest/server-api-route.ts';

export const admin = new Hono<AppEnv>();

admin.use('*', requireAdmin);

/** Validates and stores a workspace's settings (the whole of them: PUT and PATCH both end here). */
async function save(env: Env, id: string, body: unknown) {
  const input = parseOr400(workspaceInputSchema, body, 'workspace');
  if (input.secretKey && SECRET_KEY_PATTERN.exec(input.secretKey)?.[1] !== id) {
    throw new ClientError(400, 'Invalid workspace', [{ path: 'secretKey', message: `must be "ss_sk_${id}_" followed by 12 or more letters, digits or "-"` }]);
  }
  const stub = workspaceStub(env, id);
  if (!input.customerio && !(await stub.publicView())) {
    throw new ClientError(400, 'Invalid workspace', [{ path: 'customerio', message: 'is required when creating a workspace' }]);
  }
  const before = await stub.edgeView();
  const result = await stub.upsert(id, input);
  // New Customer.io keys or limits reach the shards and the panel now, not in 30 s.
  await forgetWorkspaceEverywhere(env, id, Math.max(before?.sync.shards ?? 0, input.sync.shards));
  const warnings = input.customerio ? await regionWarnings(env, input.customerio) : [];
  return warnings.length ? { ...result, warnings } : result;
}

/**
 * New credentials are asked for the account's region at once (one harmless Track call): a workspace
 * set to the wrong region would have every call refused, so the answer names that as the problem.
 * Saved all the same (Customer.io may just be unreachable now); the connection check says more.
 */
async function regionWarnings(env: Env, credentials: CustomerIoCredentials): Promise<Array<{ path: string; message: string }>> {
  const outcome = await customerIo(credentials, env.CUSTOMERIO_BASE_URL || undefined).region();
  if (outcome.kind !== 'ok') {
    return [{ path: 'customerio', message: `Customer.io did not confirm these credentials (${describeFailure(outcome)}); run POST /v1/admin/workspaces/{id}/check` }];
  }
  const actual = outcome.value.region.toLowerCase();
  return actual && actual !== credentials.region
    ? [{ path: 'customerio.region', message: `this Customer.io account is in the ${actual.toUpperCase()} region, not ${credentials.region.toUpperCase()}: set customerio.region to "${actual}"` }]
    : [];
}

/** PUT: the settings as given (what is left out takes its default; keys left out are kept). */
admin.put('/workspaces/:id', async (c) => {
  const id = workspaceId(c.req.param('id'));
  const result = await save(c.env, id, await readJson(c.req.raw, 256 * 1024));
  return c.json(result, result.created ? 201 : 200);
});

/** PATCH: only what is given changes (`limits`, `sync`, `clickIdentity` and `doubleOptIn` merge field by field). */
admin.patch('/workspaces/:id', async (c) => {
  const id = workspaceId(c.req.param('id'));
  const current = await workspaceStub(c.env, id).publicView();
  if (!current) throw new ClientError(404, `Unknown workspace "${id}"`, [{ path: 'id', message: 'no such workspace: create it with PUT' }]);
  const patch = await readJson(c.req.raw, 256 * 1024);
  if (typeof patch !== 'object' || patch === null || Array.isArray(patch)) {
    throw new ClientError(400, 'Invalid workspace', [{ path: '(body)', message: 'expected a JSON object' }]);
  }
  const p = patch as Record<string, unknown>;
  const merged = {
    allowedOrigins: current.allowedOrigins, tagRules: current.tagRules, attributePrefix: current.attributePrefix,
    ...(current.welcomeMessageId !== null ? { welcomeMessageId: current.welcomeMessageId } : {}),
    ...p,
    limits: { ...current.limits, ...(p.limits as object | undefined) },
    sync: { ...current.sync, ...(p.sync as object | undefined) },
    clickIdentity: { ...current.clickIdentity, ...(p.clickIdentity as object | undefined) },
    doubleOptIn: { ...current.doubleOptIn, ...(p.doubleOptIn as object | undefined) },
  };
  return c.json(await save(c.env, id, merged));
});

admin.get('/workspaces/:id', async (c) => {
  const id = workspaceId(c.req.param('id'));
  const ws = await workspaceStub(c.env, id).publicView();
  if (!ws) throw new ClientError(404, `Unknown workspace "${id}"`, [{ path: 'id', message: 'no such workspace' }]);
  return c.json(ws);
});

admin.get('/workspaces/:id/sync', async (c) => {
  const id = workspaceId(c.req.param('id'));
  const ws = await existingWorkspace(c.env, id);
  const perShard = await Promise.all(allShards(c.env, id, ws.sync.shards).map((s) => s.stats()));
  const total = perShard.reduce<Omit<ShardStats, 'lastError'>>(
    (sum, s) => ({ pending: sum.pending + s.pending, deadLetters: sum.deadLetters + s.deadLetters, calls: sum.calls + s.calls,
      people: sum.people + s.people, operations: sum.operations + s.operations, retries: sum.retries + s.retries,
      attributesOmitted: {
        readers: sum.attributesOmitted.readers + s.attributesOmitted.readers,
        examples: [...sum.attributesOmitted.examples, ...s.attributesOmitted.examples].slice(0, 5),
      } }),
    { pending: 0, deadLetters: 0, calls: 0, people: 0, operations: 0, retries: 0, attributesOmitted: { readers: 0, examples: [] } },
  );
  return c.json({ workspace: id, limits: ws.limits, ...total, shards: perShard });
});

/** Checks the workspace's Customer.io connection end to end; each line passes or says how to fix it. */
admin.post('/workspaces/:id/check', async (c) => {
  const ws = await existingWorkspace(c.env, workspaceId(c.req.param('id')));
  return c.json(await checkConnection(c.env, ws, new URL(c.req.url).origin));
});

admin.get('/workspaces/:id/dead-letters', async (c) => {
  const id = workspaceId(c.req.param('id'));
  const ws = await existingWorkspace(c.env, id);
  // RPC typing cannot see through `unknown` in operation bodies; the shape is DeadLetter.
  const lists = (await Promise.all(allShards(c.env, id, ws.sync.shards).map((s) => s.deadLetters()))) as DeadLetter[][];
  return c.json({ deadLetters: lists.flatMap((list, shard) => list.map((letter) => ({ shard, ...letter }))) });
});

admin.post('/workspaces/:id/dead-letters/replay', async (c) => {
  const id = workspaceId(c.req.param('id'));
  const ws = await existingWorkspace(c.env, id);
  const body = c.req.header('content-length') === '0' ? {} : await readJson(c.req.raw, 64 * 1024).catch(() => ({}));
  const { shard, ids } = parseOr400(z.object({ shard: z.optional(z.number().check(z.int(), z.gte(0))), ids: z.optional(z.array(z.number().check(z.int()))) }), body, 'replay request');
  const targets = allShards(c.env, id, ws.sync.shards).filter((_, n) => shard === undefined || n === shard);
  const counts = await Promise.all(targets.map((s) => s.replayDeadLetters(ids)));
  return c.json({ replayed: counts.reduce((a, b) => a + b, 0) });
});
