/**
 * The admin API's email surface (Bearer ADMIN_SECRET), under /v1/admin/workspaces/{id}/…:
 * the Liquid snippets, signing-key rotation and retirement, the reporting-webhook secret, link
 * signing for templates, and the signature backfill (driven by `npm run backfill`).
 */
import { Hono } from 'hono/tiny';
import * as z from '#shared/zod.ts';
import type { AppEnv } from '#edge/env.ts';
import { ClientError, parseOr400, readJson } from '#edge/platform/errors.ts';
import { existingWorkspace, requireAdmin } from '#edge/workspaces/admin-auth.ts';
import { workspaceStub } from '#edge/platform/stubs.ts';
import { forgetWorkspace } from '#edge/platform/ttl-cache.ts';
import { forgetWorkspaceEverywhere } from '#edge/workspaces/forget-everywhere.ts';
import { backfillPending } from './backfill.ts';
import { clickTemplate, pixelTemplate, signLink, tokenAttribute } from '#shared/email/tokens.ts';

export const emailAdmin = new Hono<AppEnv>();

emailAdmin.use('*', requireAdmin);

const body = async (req: Request) => (req.headers.get('content-length') === '0' ? {} : readJson(req, 16 * 1024).catch(() => ({})));

emailAdmin.get('/:id/email', async (c) => {
  const ws = await existingWorkspace(c.env, c.req.param('id'));
  const edge = new URL(c.req.url).origin;
  const stats = await workspaceStub(c.env, ws.id).emailStats();
  return c.json({
    tokenAttribute: tokenAttribute(ws.attributePrefix),
    pixel: `<img src="${pixelTemplate(edge, ws.id, ws.attributePrefix)}" width="1" height="1" alt="" style="display:block;border:0;width:1px;height:1px">`,
    linkHelp: `POST ${edge}/v1/admin/workspaces/${ws.id}/links {"url": "...", "category": "crypto"} gives a ready-to-paste tracked link`,
    webhookUrl: `${edge}/v1/webhooks/customerio/${ws.id}`,
    ...stats,
  });
});

emailAdmin.post('/:id/signing-keys', async (c) => {
  const ws = await existingWorkspace(c.env, c.req.param('id'));
  const keys = await workspaceStub(c.env, ws.id).rotateSigningKey();
  // The outbox shards sign with the newest key from their next send on.
  await forgetWorkspaceEverywhere(c.env, ws.id, ws.sync.shards);
  return c.json({ signingKeys: keys }, 201);
});

emailAdmin.delete('/:id/signing-keys/:kid', async (c) => {
  const ws = await existingWorkspace(c.env, c.req.param('id'));
  const result = await workspaceStub(c.env, ws.id).retireSigningKey(c.req.param('kid'));
  if (result === 'unknown') throw new ClientError(404, `Unknown signing key "${c.req.param('kid')}"`, [{ path: 'kid', message: 'no such key' }]);
  if (result === 'newest') throw new ClientError(409, 'The newest signing key cannot be retired: rotate first', [{ path: 'kid', message: 'is the newest key' }]);
  await forgetWorkspaceEverywhere(c.env, ws.id, ws.sync.shards);
  return c.json({ signingKeys: result });
});

emailAdmin.put('/:id/webhook-secret', async (c) => {
  const ws = await existingWorkspace(c.env, c.req.param('id'));
  const { secret } = parseOr400(z.object({ secret: z.nullable(z.string().check(z.minLength(16, 'must be at least 16 characters'), z.maxLength(500))) }), await readJson(c.req.raw, 4096), 'webhook secret');
  await workspaceStub(c.env, ws.id).setWebhookSecret(secret);
  forgetWorkspace(ws.id);
  return c.json({ webhookSecretSet: secret !== null, webhookUrl: `${new URL(c.req.url).origin}/v1/webhooks/customerio/${ws.id}` });
});

emailAdmin.post('/:id/links', async (c) => {
  const ws = await existingWorkspace(c.env, c.req.param('id'));
  const input = parseOr400(z.object({
    url: z.url({ protocol: /^https?$/ }).check(z.maxLength(2048)),
    category: z.optional(z.string().check(z.regex(/^[a-z0-9][a-z0-9_-]{0,31}$/, 'must be a lowercase slug such as "crypto"'))),
  }), await readJson(c.req.raw, 8192), 'link');
  const [key] = await workspaceStub(c.env, ws.id).signingKeys();
  if (!key) throw new ClientError(409, 'The workspace has no signing key');
  const signature = await signLink(ws.id, input.url, input.category ?? null, key);
  const edge = new URL(c.req.url).origin;
  return c.json({ signature, kid: key.kid, link: clickTemplate(edge, ws.id, ws.attributePrefix, input.url, input.category ?? null, signature) });
});

emailAdmin.post('/:id/backfill', async (c) => {
  const ws = await existingWorkspace(c.env, c.req.param('id'));
  const options = parseOr400(z.object({ pageSize: z.optional(z.number().check(z.int(), z.gte(1), z.lte(1000))), restart: z.optional(z.boolean()) }), await body(c.req.raw), 'backfill step');
  const state = await workspaceStub(c.env, ws.id).backfillStep(options);
  return c.json({ ...state, pending: await backfillPending(c.env, ws) });
});

emailAdmin.get('/:id/backfill', async (c) => {
  const ws = await existingWorkspace(c.env, c.req.param('id'));
  return c.json({ ...((await workspaceStub(c.env, ws.id).backfillState()) ?? { status: 'idle' }), pending: await backfillPending(c.env, ws) });
});
