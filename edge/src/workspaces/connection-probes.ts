/**
 * Gathers what the connection check reads (connection-check.ts): one harmless call per Customer.io
 * API, a few sampled people's attributes, the webhook state and the outbox's figures. Each App API
 * call waits its slot under the directory's share of the App limit (customerio/budget.ts).
 */
import type { Env } from '#edge/env.ts';
import type { EdgeWorkspace } from './edge-workspace.ts';
import { workspaceCustomerIo } from '#edge/customerio/workspace-gateway.ts';
import { callIntervalMs } from '#edge/customerio/budget.ts';
import { cioIdentifier } from '#shared/panel.ts';
import { tokenAttribute } from '#shared/email/tokens.ts';
import { allShards, directoryStub, workspaceStub } from '#edge/platform/stubs.ts';
import { sleep } from '#edge/sync/pacing.ts';
import { forgetWorkspaceEverywhere } from './forget-everywhere.ts';
import type { ConnectionReport } from '#shared/panel-api.ts';
import { connectionReport } from './connection-check.ts';

const SAMPLE = 5;

export async function checkConnection(env: Env, ws: EdgeWorkspace, edgeOrigin: string): Promise<ConnectionReport> {
  const stub = workspaceStub(env, ws.id);
  const [config, publicView, email, lastWebhookAt, shardStats, sample] = await Promise.all([
    workspaceCustomerIo(env, ws.id), stub.publicView(), stub.emailStats(), stub.lastWebhookAt(),
    Promise.all(allShards(env, ws.id, ws.sync.shards).map((s) => s.stats())),
    directoryStub(env, ws.id).search('', SAMPLE),
  ]);
  const noCredentials = { kind: 'reject' as const, status: 401, message: 'this workspace has no Customer.io credentials' };
  const appGap = callIntervalMs(ws.limits, 'app', 'directory');
  const cio = config?.cio;
  const region = cio ? await cio.region() : noCredentials;
  const app = cio ? await cio.listBroadcasts() : noCredentials;
  const emailIdentifier = cio ? await cio.emailIdentifierAllowed() : noCredentials;
  let mode = ws.identifierMode;
  if (emailIdentifier.kind === 'ok' && emailIdentifier.value === false && (await stub.noteIdOnly(Date.now()))) {
    // Found out here first: every cache of the workspace learns it now.
    await forgetWorkspaceEverywhere(env, ws.id, ws.sync.shards);
    mode = 'id_only';
  }
  const attribute = tokenAttribute(ws.attributePrefix);
  let tokenSample: ConnectionReportInput['tokenSample'] = { attribute, people: [] };
  if (cio) {
    for (const reader of sample) {
      const ident = cioIdentifier(reader, mode);
      if (!ident) continue;
      await sleep(appGap);
      const got = await cio.personAttributes(ident.value, ident.idType);
      if (got.kind !== 'ok') { tokenSample = got; break; }
      tokenSample.people.push({ key: reader.key, found: got.value !== null, hasToken: Boolean(got.value?.[attribute]) });
    }
  }
  return connectionReport({
    region, configuredRegion: publicView?.customerio.region ?? 'us', app, emailIdentifier,
    identifiers: { setting: publicView?.identifiers ?? 'auto', mode },
    webhookUrl: `${edgeOrigin}/v1/webhooks/customerio/${ws.id}`, workspaceId: ws.id,
    webhookSecretSet: email.webhookSecretSet, lastWebhookAt, tokenSample,
    sync: {
      pending: shardStats.reduce((n, s) => n + s.pending, 0),
      deadLetters: shardStats.reduce((n, s) => n + s.deadLetters, 0),
      lastError: shardStats.map((s) => s.lastError).find((e) => e !== null) ?? null,
    },
    now: Date.now(),
  });
}

type ConnectionReportInput = Parameters<typeof connectionReport>[0];
