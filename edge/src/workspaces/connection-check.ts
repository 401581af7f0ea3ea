/**
 * The connection check (`POST /v1/admin/workspaces/{id}/check`, the panel's "Connection" card):
 * what a publisher needs to know works before the first send, each line passing or failing with
 * the fix in words. Pure: the route gathers the probes (one harmless call per API, a few people's
 * attributes, the outbox's figures) and this turns them into lines.
 */
import type { Failure } from '#edge/customerio/gateway.ts';
import { describeFailure } from '#edge/customerio/gateway.ts';

import type { CheckLine, ConnectionReport } from '#shared/panel-api.ts';

type Probe<T> = { kind: 'ok'; value: T } | Failure;

export interface ConnectionProbes {
  /** `GET /api/v1/accounts/region` with the Track credentials. */
  region: Probe<{ region: string; url: string }>;
  /** The region the workspace is configured for. */
  configuredRegion: 'us' | 'eu';
  /** Whether email is an identifier there (null: the answer did not say). */
  emailIdentifier: Probe<boolean | null>;
  /** The workspace's `identifiers` setting and the mode the edge uses. */
  identifiers: { setting: 'auto' | 'email_or_id' | 'id_only'; mode: 'email_or_id' | 'id_only' };
  /** One harmless App API read (the broadcast list). */
  app: Probe<unknown>;
  /** Where Customer.io should send this workspace's reporting webhooks. */
  webhookUrl: string;
  workspaceId: string;
  webhookSecretSet: boolean;
  lastWebhookAt: number | null;
  /** Known readers sampled from the directory, and whether Customer.io holds the token attribute on each. */
  tokenSample: { attribute: string; people: Array<{ key: string; found: boolean; hasToken: boolean }> } | Failure;
  sync: { pending: number; deadLetters: number; lastError: string | null };
  now: number;
}

const credentialsFix = (which: string, outcome: Failure) => (outcome.kind === 'reject' && (outcome.status === 401 || outcome.status === 403)
  ? `Customer.io refused the ${which} key: copy it again from Customer.io (Settings → API credentials) and PUT the workspace's customerio settings`
  : `Customer.io did not answer well (${describeFailure(outcome)}): try again in a minute; if it persists, check Customer.io's status page`);

const HOUR_MS = 3_600_000;

export function connectionReport(p: ConnectionProbes): ConnectionReport {
  const checks: CheckLine[] = [];
  const line = (id: string, label: string, ok: boolean, detail: string, fix: string | null) => checks.push({ id, label, ok, detail, fix: ok ? null : fix });

  if (p.region.kind === 'ok') {
    line('track', 'Track API credentials', true, 'site id and Track API key accepted', null);
    const actual = p.region.value.region.toLowerCase();
    line('region', 'Region', actual === p.configuredRegion, `the account is in the ${actual.toUpperCase()} region; the workspace is set to ${p.configuredRegion.toUpperCase()}`,
      `set customerio.region to "${actual}": calls to the wrong region's hosts are refused`);
  } else {
    line('track', 'Track API credentials', false, describeFailure(p.region), credentialsFix('Track API', p.region));
    line('region', 'Region', false, 'not known: the Track API did not answer', 'fix the Track API credentials first');
  }

  if (p.emailIdentifier.kind === 'ok' && p.emailIdentifier.value !== null) {
    const allowed = p.emailIdentifier.value;
    const conflict = p.identifiers.setting === (allowed ? 'id_only' : 'email_or_id');
    line('identifiers', 'Identifiers', !conflict,
      allowed ? 'email is an identifier: readers known only by email go as their email'
        : 'email is not an identifier in this workspace: readers known only by email go as id "email:<address>"',
      `set the workspace's identifiers to "auto" (or "${allowed ? 'email_or_id' : 'id_only'}"): Customer.io ${allowed ? 'takes' : 'refuses'} email as an identifier`);
  } else {
    line('identifiers', 'Identifiers', false, p.emailIdentifier.kind === 'ok' ? 'Customer.io\'s answer did not say whether email is an identifier' : describeFailure(p.emailIdentifier),
      `fix the Track API credentials first; until then the edge uses ${p.identifiers.mode === 'id_only' ? 'ids only' : 'email for readers known only by email'}`);
  }

  line('app', 'App API key', p.app.kind === 'ok', p.app.kind === 'ok' ? 'App API key accepted' : describeFailure(p.app),
    p.app.kind === 'ok' ? null : credentialsFix('App API', p.app));

  const webhookAge = p.lastWebhookAt === null ? null : p.now - p.lastWebhookAt;
  line('webhook', 'Reporting webhooks', p.webhookSecretSet && p.lastWebhookAt !== null,
    !p.webhookSecretSet ? 'no webhook signing secret is set'
      : p.lastWebhookAt === null ? 'the secret is set, but no signed webhook has arrived yet'
        : `last signed webhook ${webhookAge! < HOUR_MS ? `${Math.round(webhookAge! / 60_000)} min` : `${Math.round(webhookAge! / HOUR_MS)} h`} ago`,
    !p.webhookSecretSet
      ? `in Customer.io add a reporting webhook to ${p.webhookUrl}, then PUT its signing secret to /v1/admin/workspaces/${p.workspaceId}/webhook-secret`
      : `check that the reporting webhook in Customer.io points at ${p.webhookUrl} with the signing secret given here; it sends once an email goes out`);

  if ('people' in p.tokenSample) {
    const found = p.tokenSample.people.filter((x) => x.found);
    const missing = found.filter((x) => !x.hasToken);
    line('token', 'Email token attribute', found.length > 0 && missing.length === 0,
      found.length === 0 ? 'no known reader to sample yet' : `${found.length - missing.length} of ${found.length} sampled people carry ${p.tokenSample.attribute}`,
      found.length === 0 ? 'sign up a reader (the demo page does) or run the backfill, then check again'
        : `run the backfill (npm run backfill) so every person gets ${p.tokenSample.attribute}; the pixel snippet's default keeps emails rendering meanwhile`);
  } else {
    line('token', 'Email token attribute', false, `could not read people's attributes (${describeFailure(p.tokenSample)})`, 'fix the App API key first');
  }

  line('sync', 'Sync to Customer.io', p.sync.deadLetters === 0,
    `${p.sync.pending} reader(s) waiting, ${p.sync.deadLetters} dead letter(s)${p.sync.lastError ? `; the last error seen: ${p.sync.lastError}` : ''}`,
    `read GET /v1/admin/workspaces/${p.workspaceId}/dead-letters, fix the cause, then replay them (POST …/dead-letters/replay)`);

  return { ok: checks.every((c) => c.ok), checkedAt: p.now, checks };
}
