/**
 * POST /v1/webhooks/customerio/{workspace}: Customer.io's reporting webhooks. The signature is
 * checked against the workspace's webhook signing secret (stale timestamps refused), then the
 * event goes to the reader's object, where the delivery id keeps it from counting an open or a
 * click the pixel or the link already counted, and the event id makes a replay change nothing.
 * Only a bad or missing signature, a stale timestamp or an oversized body is refused: every
 * authentic event gets a 2xx (see below).
 */
import { Hono } from 'hono/tiny';
import type { AppEnv } from '#edge/env.ts';
import { ClientError, issuesFrom } from '#edge/platform/errors.ts';
import { edgeWorkspace } from '#edge/workspaces/config-cache.ts';
import { ingestEvents } from '#edge/readers/access.ts';
import { readerStub, workspaceStub } from '#edge/platform/stubs.ts';
import type { ReaderKey } from '#edge/readers/names.ts';
import { webhookSecret } from './keys.ts';
import { checkWebhookSignature, readerKeysOf, reportingEventSchema, webhookReaderEvent } from '#shared/email/webhook.ts';

const MAX_BODY = 256 * 1024;

export const webhooks = new Hono<AppEnv>();

const ignored = (reason: string) => ({ ignored: true, reason });

/**
 * "The last signed webhook received", for the connection check: noted at most once a minute per
 * workspace and isolate (a send's webhooks come by the thousand).
 */
const NOTE_EVERY_MS = 60_000;
const notedAt = new Map<string, number>();
async function noteWebhook(env: AppEnv['Bindings'], workspace: string): Promise<void> {
  const now = Date.now();
  if (now - (notedAt.get(workspace) ?? 0) < NOTE_EVERY_MS) return;
  notedAt.set(workspace, now);
  // Never in the way of the event: a failed note is tried again by the next webhook.
  await workspaceStub(env, workspace).noteWebhook(now).catch(() => notedAt.delete(workspace));
}

webhooks.post('/customerio/:workspace', async (c) => {
  const ws = await edgeWorkspace(c.env, c.req.param('workspace'));
  if (!ws) throw new ClientError(404, `Unknown workspace "${c.req.param('workspace')}"`, [{ path: 'workspace', message: 'no such workspace' }]);
  const secret = await webhookSecret(c.env, ws.id);
  if (!secret) {
    throw new ClientError(403, 'This workspace has no webhook signing secret: set it with PUT /v1/admin/workspaces/{id}/webhook-secret');
  }
  const raw = await c.req.text();
  if (raw.length > MAX_BODY) throw new ClientError(413, `Body is larger than ${MAX_BODY} bytes`);
  const check = await checkWebhookSignature(secret, c.req.header('x-cio-timestamp') ?? null, c.req.header('x-cio-signature') ?? null, raw);
  if (check !== 'ok') {
    const why = { missing: 'Missing X-CIO-Timestamp or X-CIO-Signature header', stale: 'X-CIO-Timestamp is more than 5 minutes away from now', bad_signature: 'X-CIO-Signature does not match' }[check];
    throw new ClientError(401, why, [{ path: check === 'stale' ? 'X-CIO-Timestamp' : 'X-CIO-Signature', message: check }]);
  }
  await noteWebhook(c.env, ws.id);
  // From here the event is authentic: answer 2xx whatever it holds. After a 4xx Customer.io waits an
  // hour and holds every later webhook behind the failed one (for up to seven days), so one odd event
  // would stall the publisher's whole stream. What cannot be counted is ignored, with the reason.
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch (e) {
    return c.json(ignored(`body is not JSON: ${(e as Error).message}`));
  }
  const parsed = reportingEventSchema.safeParse(json);
  if (!parsed.success) return c.json(ignored(`not a reporting event the edge reads: ${issuesFrom(parsed.error).map((i) => `${i.path}: ${i.message}`).join('; ')}`));
  const event = webhookReaderEvent(parsed.data);
  if (!event) return c.json(ignored(`${parsed.data.object_type} ${parsed.data.metric} is not an event the edge counts`));
  const candidates = readerKeysOf(parsed.data) as ReaderKey[];
  if (candidates.length === 0) return c.json(ignored('the person has no id or email in identifiers (both null)'));

  // The reader the edge already knows under one of the person's identifiers; else the first (so a
  // person named one way needs no look-up: one call fewer per webhook).
  let key = candidates[0]!;
  for (const candidate of candidates.length > 1 ? candidates : []) {
    if (await readerStub(c.env, ws.id, candidate).exists()) {
      key = candidate;
      break;
    }
  }
  const result = await ingestEvents(c.env, ws, key, [event]);
  return c.json(result);
});
