/**
 * One object per workspace holds its settings. It is read rarely: the Worker caches the edge
 * view per isolate (workspaces/config-cache.ts) and the sync shards cache the credentials, so the
 * event hot path never waits on this object.
 */
import { DurableObject } from 'cloudflare:workers';
import type { Env } from '#edge/env.ts';
import { type CustomerIoCredentials, type WorkspacePublic, type WorkspaceSettings, DEFAULT_CLICK_IDENTITY, DEFAULT_DOUBLE_OPT_IN } from '#shared/workspace.ts';
import { decryptSecret, encryptSecret, randomToken } from './secrets.ts';
import { sha256Hex } from '#shared/crypto.ts';
import type { EdgeWorkspace } from './edge-workspace.ts';
import type { IdentifierMode } from '#shared/identity.ts';
import { type BackfillState, backfillStep, freshBackfill } from '#edge/email/backfill.ts';

interface StoredWorkspace {
  id: string;
  settings: Omit<WorkspaceSettings, 'customerio' | 'secretKey' | 'editorKey'>;
  customerio: { siteId: string; region: 'us' | 'eu'; trackKeySealed: string; appKeySealed: string } | null;
  secretKeyHash: string;
  editorKeyHash: string | null;
  /** Newest first; the key id goes into every signature so old emails keep verifying after rotation. */
  signingKeys: Array<{ kid: string; sealed: string; createdAt: number }>;
  /** Customer.io reporting webhooks' signing secret (sealed), once set through the admin API. */
  webhookSecretSealed?: string | null;
  /** Set when Customer.io showed that email is not an identifier in this workspace. */
  idOnlyDetectedAt?: number | null;
  createdAt: number;
  updatedAt: number;
}

/** What the Worker's hot path needs: no secret in it, only hashes. */
export class WorkspaceObject extends DurableObject<Env> {
  private async load(): Promise<StoredWorkspace | undefined> {
    return this.ctx.storage.get<StoredWorkspace>('workspace');
  }

  /** Creates or updates; returns the public view and, when one was made now, the secret key (shown once). */
  async upsert(id: string, input: WorkspaceSettings): Promise<{ workspace: WorkspacePublic; secretKey?: string; created: boolean }> {
    const existing = await this.load();
    const now = Date.now();
    const { customerio, secretKey, editorKey, ...settings } = input;
    if (!existing && !customerio) throw new Error('customerio credentials are required to create a workspace');
    const seal = (plain: string) => encryptSecret(plain, this.env.CONFIG_ENCRYPTION_KEY);
    let newSecret: string | undefined;
    let secretKeyHash = existing?.secretKeyHash;
    if (secretKey) secretKeyHash = await sha256Hex(secretKey);
    if (!secretKeyHash) {
      newSecret = `ss_sk_${id}_${randomToken().replace(/_/g, '-')}`;
      secretKeyHash = await sha256Hex(newSecret);
    }
    const stored: StoredWorkspace = {
      id,
      settings,
      customerio: customerio
        ? { siteId: customerio.siteId, region: customerio.region, trackKeySealed: await seal(customerio.trackKey), appKeySealed: await seal(customerio.appKey) }
        : existing!.customerio,
      secretKeyHash,
      editorKeyHash: editorKey ? await sha256Hex(editorKey) : (existing?.editorKeyHash ?? null),
      signingKeys: existing?.signingKeys ?? [{ kid: 'k1', sealed: await seal(randomToken(32)), createdAt: now }],
      webhookSecretSealed: existing?.webhookSecretSealed ?? null,
      // New Customer.io credentials may be another workspace: what was found out about the old one is forgotten.
      idOnlyDetectedAt: customerio && customerio.siteId !== existing?.customerio?.siteId ? null : (existing?.idOnlyDetectedAt ?? null),
      createdAt: existing?.createdAt ?? now,
      updatedAt: now,
    };
    await this.ctx.storage.put('workspace', stored);
    return { workspace: toPublic(stored), created: !existing, ...(newSecret ? { secretKey: newSecret } : {}) };
  }

  async publicView(): Promise<WorkspacePublic | null> {
    const stored = await this.load();
    return stored ? toPublic(stored) : null;
  }

  async edgeView(): Promise<EdgeWorkspace | null> {
    const stored = await this.load();
    if (!stored) return null;
    const { customerio, ...rest } = toPublic(stored);
    return { ...rest, customerioConfigured: customerio.configured, secretKeyHash: stored.secretKeyHash, editorKeyHash: stored.editorKeyHash };
  }

  /** Decrypted Customer.io keys: for the sync shards only, never for a response. */
  async credentials(): Promise<CustomerIoCredentials | null> {
    const cio = (await this.load())?.customerio;
    if (!cio) return null;
    return {
      siteId: cio.siteId,
      region: cio.region,
      trackKey: await decryptSecret(cio.trackKeySealed, this.env.CONFIG_ENCRYPTION_KEY),
      appKey: await decryptSecret(cio.appKeySealed, this.env.CONFIG_ENCRYPTION_KEY),
    };
  }

  // ---- email: key rotation, webhook secret, rejected hits (edge/src/email/email-admin-route.ts) ----

  /** Adds a new signing key in front: new tokens use it, tokens signed with older keys keep verifying. */
  async rotateSigningKey(): Promise<SigningKeyInfo[]> {
    return this.ctx.blockConcurrencyWhile(async () => {
      const stored = await this.load();
      if (!stored) throw new Error('no such workspace');
      const next = Math.max(0, ...stored.signingKeys.map((k) => Number(k.kid.replace(/^k/, '')) || 0)) + 1;
      stored.signingKeys.unshift({ kid: `k${next}`, sealed: await encryptSecret(randomToken(32), this.env.CONFIG_ENCRYPTION_KEY), createdAt: Date.now() });
      await this.ctx.storage.put('workspace', stored);
      return keyInfo(stored);
    });
  }

  /** Retires an old key: tokens and links signed with it stop verifying (the newest key cannot be retired). */
  async retireSigningKey(kid: string): Promise<SigningKeyInfo[] | 'unknown' | 'newest'> {
    return this.ctx.blockConcurrencyWhile(async () => {
      const stored = await this.load();
      if (!stored || !stored.signingKeys.some((k) => k.kid === kid)) return 'unknown';
      if (stored.signingKeys[0]!.kid === kid) return 'newest';
      stored.signingKeys = stored.signingKeys.filter((k) => k.kid !== kid);
      await this.ctx.storage.put('workspace', stored);
      return keyInfo(stored);
    });
  }

  async signingKeyInfo(): Promise<SigningKeyInfo[]> {
    const stored = await this.load();
    return stored ? keyInfo(stored) : [];
  }

  async setWebhookSecret(secret: string | null): Promise<boolean> {
    const stored = await this.load();
    if (!stored) return false;
    stored.webhookSecretSealed = secret ? await encryptSecret(secret, this.env.CONFIG_ENCRYPTION_KEY) : null;
    await this.ctx.storage.put('workspace', stored);
    return true;
  }

  /** The reporting webhooks' signing secret, decrypted: for the webhook route only, never for a response. */
  async webhookSecret(): Promise<string | null> {
    const sealed = (await this.load())?.webhookSecretSealed;
    return sealed ? decryptSecret(sealed, this.env.CONFIG_ENCRYPTION_KEY) : null;
  }

  /** An authentic reporting webhook arrived (the webhook route notes it at most once a minute per isolate). */
  async noteWebhook(at: number): Promise<void> {
    const last = (await this.ctx.storage.get<number>('last-webhook-at')) ?? 0;
    if (at > last) await this.ctx.storage.put('last-webhook-at', at);
  }

  async lastWebhookAt(): Promise<number | null> {
    return (await this.ctx.storage.get<number>('last-webhook-at')) ?? null;
  }

  /**
   * Customer.io showed that email is not an identifier here (a refused call, the connection check).
   * Returns whether this changed anything (then every cache of the workspace must forget it).
   */
  async noteIdOnly(at: number): Promise<boolean> {
    return this.ctx.blockConcurrencyWhile(async () => {
      const stored = await this.load();
      if (!stored || stored.idOnlyDetectedAt) return false;
      stored.idOnlyDetectedAt = at;
      await this.ctx.storage.put('workspace', stored);
      return (stored.settings.identifiers ?? 'auto') === 'auto';
    });
  }

  /** Pixel and click hits refused (bad token, unknown key…), added up per isolate and flushed here. */
  async countRejected(counts: Record<string, number>): Promise<void> {
    const stats = (await this.ctx.storage.get<Record<string, number>>('email-rejected')) ?? {};
    for (const [reason, n] of Object.entries(counts)) stats[reason] = (stats[reason] ?? 0) + n;
    await this.ctx.storage.put('email-rejected', stats);
  }

  async emailStats(): Promise<{ rejected: Record<string, number>; signingKeys: SigningKeyInfo[]; webhookSecretSet: boolean }> {
    const stored = await this.load();
    return {
      rejected: (await this.ctx.storage.get<Record<string, number>>('email-rejected')) ?? {},
      signingKeys: stored ? keyInfo(stored) : [],
      webhookSecretSet: Boolean(stored?.webhookSecretSealed),
    };
  }

  private backfillChain: Promise<unknown> = Promise.resolve();

  /**
   * One page of the signature backfill (edge/src/email/backfill.ts). Steps run one at a time
   * (a second CLI waits its turn), and the cursor is stored after every page: resumable.
   */
  async backfillStep(options: { pageSize?: number; restart?: boolean } = {}): Promise<BackfillState> {
    const run = this.backfillChain.then(async () => {
      let state = (await this.ctx.storage.get<BackfillState>('backfill')) ?? freshBackfill(options.pageSize ?? 1000);
      if (options.restart) state = freshBackfill(options.pageSize ?? state.pageSize);
      if (options.pageSize && state.status === 'idle') state.pageSize = options.pageSize;
      const [workspace, credentials, keys] = await Promise.all([this.edgeView(), this.credentials(), this.signingKeys()]);
      if (!workspace || !credentials || !keys[0]) throw new Error('the workspace has no Customer.io credentials');
      state = await backfillStep(state, { env: this.env, workspace, credentials, key: keys[0] });
      await this.ctx.storage.put('backfill', state);
      return state;
    });
    this.backfillChain = run.catch(() => undefined);
    return run;
  }

  async backfillState(): Promise<BackfillState | null> {
    return (await this.ctx.storage.get<BackfillState>('backfill')) ?? null;
  }

  /** Signing keys, newest first (the pixel and click tokens). */
  async signingKeys(): Promise<Array<{ kid: string; key: string }>> {
    const stored = await this.load();
    if (!stored) return [];
    return Promise.all(stored.signingKeys.map(async (k) => ({ kid: k.kid, key: await decryptSecret(k.sealed, this.env.CONFIG_ENCRYPTION_KEY) })));
  }
}

export interface SigningKeyInfo { kid: string; createdAt: number; newest: boolean }

function keyInfo(stored: StoredWorkspace): SigningKeyInfo[] {
  return stored.signingKeys.map((k, i) => ({ kid: k.kid, createdAt: k.createdAt, newest: i === 0 }));
}

function identifierMode(stored: StoredWorkspace): IdentifierMode {
  const setting = stored.settings.identifiers ?? 'auto';
  if (setting !== 'auto') return setting;
  return stored.idOnlyDetectedAt ? 'id_only' : 'email_or_id';
}

function toPublic(stored: StoredWorkspace): WorkspacePublic {
  return {
    id: stored.id,
    allowedOrigins: stored.settings.allowedOrigins,
    customerio: { siteId: stored.customerio?.siteId ?? '', region: stored.customerio?.region ?? 'us', configured: Boolean(stored.customerio) },
    tagRules: stored.settings.tagRules,
    attributePrefix: stored.settings.attributePrefix,
    limits: stored.settings.limits,
    sync: stored.settings.sync,
    welcomeMessageId: stored.settings.welcomeMessageId ?? null,
    identifiers: stored.settings.identifiers ?? 'auto',
    clickIdentity: stored.settings.clickIdentity ?? DEFAULT_CLICK_IDENTITY,
    doubleOptIn: stored.settings.doubleOptIn ?? DEFAULT_DOUBLE_OPT_IN,
    identifierMode: identifierMode(stored),
    idOnlyDetectedAt: stored.idOnlyDetectedAt ?? null,
    createdAt: stored.createdAt,
    updatedAt: stored.updatedAt,
  };
}
