/**
 * One object per workspace: the directory of known readers the panel searches, counts and segments.
 * It is fed off the hot path, by the sync shards after each successful batch (one call per batch),
 * so it holds what Customer.io holds. It also owns our segments: their rules, manual additions and
 * removals, and their mirror in Customer.io (a manual segment whose members its alarm adds and
 * removes through the Track API, coalesced and paced under a small share of the workspace limits).
 */
import { DurableObject } from 'cloudflare:workers';
import type { Env } from '#edge/env.ts';
import { forgetWorkspace } from '#edge/platform/ttl-cache.ts';
import { DAY_MS } from '#shared/reader.ts';
import { normalizeEmail } from '#shared/email-address.ts';
import {
  type MembersChange, type ReaderSummary, type SegmentInput, type SegmentRule, cioIdentifier, describeRule, inSegment,
} from '#shared/panel.ts';
import type {
  CioSegment, CioSegmentList, DirectoryOverview, MembersChangeResult, SegmentDetail, SegmentPreview, SegmentView, TagHistory,
} from '#shared/panel-api.ts';
import { describeFailure } from '#edge/customerio/gateway.ts';
import { workspaceCustomerIo } from '#edge/customerio/workspace-gateway.ts';
import { callIntervalMs } from '#edge/customerio/budget.ts';
import { edgeWorkspace } from '#edge/workspaces/config-cache.ts';
import { backoffMs } from '#edge/sync/pacing.ts';
import { Pacer } from './pacer.ts';
import { sendQueueStub } from '#edge/platform/stubs.ts';


type Row = Record<string, SqlStorageValue>;
const SNAPSHOT_EVERY_MS = 5 * 60_000;
const MIRROR_DEBOUNCE_MS = 1_500;
const CIO_CACHE_MS = 5 * 60_000;
const MAX_COUNTED_CIO_SEGMENTS = 10;
const IDS_PER_CALL = 1000;
const WELCOME_WINDOW_MS = 7 * 86_400_000;

export class ReaderDirectory extends DurableObject<Env> {
  private readonly sql: SqlStorage;
  private readonly app = new Pacer();
  private readonly track = new Pacer();
  private cio: { at: number; segments: CioSegment[]; error: string | null } | null = null;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    this.sql.exec(`
      CREATE TABLE IF NOT EXISTS readers (key TEXT PRIMARY KEY, email TEXT, user_id TEXT, tags TEXT NOT NULL, score REAL NOT NULL,
        counters TEXT NOT NULL, traits TEXT NOT NULL, facts TEXT NOT NULL, active_days TEXT NOT NULL, last_seen INTEGER, signed_up_at INTEGER,
        updated_at INTEGER NOT NULL);
      CREATE INDEX IF NOT EXISTS readers_email ON readers (email);
      CREATE TABLE IF NOT EXISTS daily (day INTEGER NOT NULL, name TEXT NOT NULL, value REAL NOT NULL, PRIMARY KEY (day, name));
      CREATE TABLE IF NOT EXISTS segments (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL, description TEXT NOT NULL,
        rule TEXT, cio_id INTEGER, deleted INTEGER NOT NULL DEFAULT 0, sync_error TEXT, synced_at INTEGER, attempts INTEGER NOT NULL DEFAULT 0,
        created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL);
      CREATE TABLE IF NOT EXISTS manual (segment_id INTEGER NOT NULL, key TEXT NOT NULL, mode TEXT NOT NULL, PRIMARY KEY (segment_id, key));
      CREATE TABLE IF NOT EXISTS mirrored (segment_id INTEGER NOT NULL, key TEXT NOT NULL, id_type TEXT NOT NULL, value TEXT NOT NULL,
        PRIMARY KEY (segment_id, key));
      CREATE TABLE IF NOT EXISTS welcomed (key TEXT PRIMARY KEY, at INTEGER NOT NULL);
      CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v TEXT NOT NULL);
    `);
    // Directories made before sign-ups were kept lack the column.
    if (!this.sql.exec<{ name: string }>('PRAGMA table_info(readers)').toArray().some((c) => c.name === 'signed_up_at')) {
      this.sql.exec('ALTER TABLE readers ADD COLUMN signed_up_at INTEGER');
    }
  }
  /** The workspace changed: this isolate's caches of it (settings, Customer.io gateway) read it afresh. */
  async forgetWorkspace(id: string): Promise<void> {
    forgetWorkspace(id);
  }


  // ---- feed (sync shards) --------------------------------------------------------------------

  async upsertReaders(workspace: string, readers: ReaderSummary[]): Promise<void> {
    this.setMeta('workspace', workspace);
    for (const r of readers) {
      this.sql.exec(
        `INSERT OR REPLACE INTO readers (key, email, user_id, tags, score, counters, traits, facts, active_days, last_seen, signed_up_at, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        r.key, r.email, r.userId, JSON.stringify(r.tags), r.score, JSON.stringify(r.counters), JSON.stringify(r.traits),
        JSON.stringify(r.facts), JSON.stringify(r.activeDays), r.lastSeen, r.signedUpAt ?? null, r.updatedAt,
      );
    }
    this.snapshotIfDue();
    await this.welcomeNewSignups(workspace, readers);
    // Tags and scores moved: segment memberships may have too. Coalesced: one mirror pass per burst.
    if (this.sql.exec('SELECT 1 FROM segments WHERE rule IS NOT NULL AND deleted = 0 LIMIT 1').toArray().length) {
      await this.scheduleMirror(MIRROR_DEBOUNCE_MS);
    }
  }

  /** Readers deleted, suppressed or merged into another: gone from searches, counts and segments. */
  async removeReaders(keys: string[]): Promise<void> {
    for (const key of keys) {
      this.sql.exec('DELETE FROM readers WHERE key = ?', key);
      this.sql.exec('DELETE FROM manual WHERE key = ?', key);
    }
    if (this.sql.exec('SELECT 1 FROM segments WHERE deleted = 0 LIMIT 1').toArray().length) await this.scheduleMirror(MIRROR_DEBOUNCE_MS);
  }

  /**
   * A reader who signed up through the widget gets the workspace's transactional welcome once, after
   * the sync that made them a person in Customer.io (so the send finds them). Only recent sign-ups:
   * turning the welcome on later does not mail everyone who signed up before.
   */
  private async welcomeNewSignups(workspace: string, readers: ReaderSummary[]): Promise<void> {
    const now = Date.now();
    const fresh = readers.filter((r) => r.email && r.signedUpAt !== null && r.signedUpAt !== undefined && now - r.signedUpAt < WELCOME_WINDOW_MS
      && !this.sql.exec('SELECT 1 FROM welcomed WHERE key = ?', r.key).toArray().length);
    if (!fresh.length) return;
    const ws = await edgeWorkspace(this.env, workspace);
    if (ws?.welcomeMessageId === null || ws?.welcomeMessageId === undefined) return;
    await sendQueueStub(this.env, workspace).enqueueWelcomes(workspace, ws.welcomeMessageId,
      fresh.map((r) => ({ key: r.key, email: r.email!, data: { ...r.traits, email: r.email, topics: r.facts.topics ?? [] } })));
    for (const r of fresh) this.sql.exec('INSERT OR IGNORE INTO welcomed (key, at) VALUES (?, ?)', r.key, now);
  }

  // ---- readers and tags ----------------------------------------------------------------------

  async search(query: string, limit = 50): Promise<ReaderSummary[]> {
    const q = query.trim().toLowerCase();
    const rows = q
      ? this.sql.exec<Row>(`SELECT * FROM readers WHERE email LIKE ? OR lower(user_id) LIKE ? OR key = ? ORDER BY score DESC LIMIT ?`,
        `%${q}%`, `${q}%`, query.trim(), limit).toArray()
      : this.sql.exec<Row>('SELECT * FROM readers ORDER BY score DESC, updated_at DESC LIMIT ?', limit).toArray();
    return rows.map(toSummary);
  }

  async reader(key: string): Promise<{ reader: ReaderSummary; segments: Array<{ id: string; name: string }> } | null> {
    const row = this.sql.exec<Row>('SELECT * FROM readers WHERE key = ?', key).toArray()[0];
    if (!row) return null;
    const reader = toSummary(row);
    const segments = this.liveSegments().filter((s) => inSegment(reader, s.rule, this.manualOf(s.id))).map((s) => ({ id: String(s.id), name: s.name }));
    return { reader, segments };
  }

  async summaries(keys: string[]): Promise<ReaderSummary[]> {
    const out: ReaderSummary[] = [];
    for (let i = 0; i < keys.length; i += 200) {
      const chunk = keys.slice(i, i + 200);
      out.push(...this.sql.exec<Row>(`SELECT * FROM readers WHERE key IN (${chunk.map(() => '?').join(',')})`, ...chunk).toArray().map(toSummary));
    }
    return out;
  }

  async overview(now = Date.now()): Promise<DirectoryOverview> {
    const readers = this.all();
    const today = Math.floor(now / DAY_MS);
    const active = new Map<number, number>();
    for (const r of readers) for (const d of r.activeDays) if (d > today - 30) active.set(d, (active.get(d) ?? 0) + 1);
    const activeByDay = Array.from({ length: 30 }, (_, i) => today - 29 + i).map((day) => ({ day, readers: active.get(day) ?? 0 }));
    const averageScore = readers.length ? readers.reduce((s, r) => s + r.score, 0) / readers.length : 0;
    return { readers: readers.length, tagCounts: tagCounts(readers), activeByDay, averageScore, segments: this.liveSegments().length };
  }

  /** Tag counts per day: stored daily snapshots for past days, live counts for today. */
  async tagHistory(days = 30, now = Date.now()): Promise<TagHistory> {
    const today = Math.floor(now / DAY_MS);
    const dayList = Array.from({ length: days }, (_, i) => today - days + 1 + i);
    const rows = this.sql.exec<{ day: number; name: string; value: number }>(
      "SELECT day, name, value FROM daily WHERE day > ? AND day < ? AND name LIKE 'tag:%'", today - days, today).toArray();
    const live = tagCounts(this.all());
    const tags: Record<string, number[]> = {};
    const ensure = (tag: string) => (tags[tag] ??= dayList.map(() => 0));
    for (const row of rows) ensure(row.name.slice(4))[dayList.indexOf(row.day)] = row.value;
    for (const [tag, count] of Object.entries(live)) ensure(tag)[days - 1] = count;
    return { days: dayList, tags };
  }

  // ---- our segments --------------------------------------------------------------------------

  async listSegments(): Promise<SegmentView[]> {
    const readers = this.all();
    return this.liveSegments().map((s) => this.view(s, readers));
  }

  async segment(id: string): Promise<SegmentDetail | null> {
    const s = this.liveSegments().find((x) => String(x.id) === id);
    if (!s) return null;
    const readers = this.all();
    const manual = this.manualOf(s.id);
    const members = readers.filter((r) => inSegment(r, s.rule, manual)).sort((a, b) => b.score - a.score);
    return { segment: this.view(s, readers), members: members.slice(0, 100) };
  }

  /** Every member (for a send), or null for an unknown segment. */
  async members(id: string): Promise<ReaderSummary[] | null> {
    const s = this.liveSegments().find((x) => String(x.id) === id);
    if (!s) return null;
    const manual = this.manualOf(s.id);
    return this.all().filter((r) => inSegment(r, s.rule, manual));
  }

  async preview(rule: SegmentRule | null): Promise<SegmentPreview> {
    const readers = this.all();
    const matched = readers.filter((r) => inSegment(r, rule, new Map()));
    return { count: matched.length, total: readers.length, sample: matched.sort((a, b) => b.score - a.score).slice(0, 5) };
  }

  async createSegment(workspace: string, input: SegmentInput): Promise<SegmentView> {
    this.setMeta('workspace', workspace);
    const now = Date.now();
    const id = this.sql.exec<{ id: number }>(
      'INSERT INTO segments (name, description, rule, created_at, updated_at) VALUES (?, ?, ?, ?, ?) RETURNING id',
      input.name, input.description, input.rule ? JSON.stringify(input.rule) : null, now, now,
    ).one().id;
    await this.scheduleMirror(0);
    return this.view(this.liveSegments().find((s) => s.id === id)!, this.all());
  }

  async updateSegment(id: string, input: SegmentInput): Promise<SegmentView | null> {
    const s = this.liveSegments().find((x) => String(x.id) === id);
    if (!s) return null;
    this.sql.exec('UPDATE segments SET name = ?, description = ?, rule = ?, updated_at = ? WHERE id = ?',
      input.name, input.description, input.rule ? JSON.stringify(input.rule) : null, Date.now(), s.id);
    await this.scheduleMirror(0);
    return this.view(this.liveSegments().find((x) => x.id === s.id)!, this.all());
  }

  async deleteSegment(id: string): Promise<boolean> {
    const s = this.liveSegments().find((x) => String(x.id) === id);
    if (!s) return false;
    this.sql.exec('UPDATE segments SET deleted = 1, updated_at = ? WHERE id = ?', Date.now(), s.id);
    await this.scheduleMirror(0);
    return true;
  }

  /** Adds (or removes) readers by email, key, or every reader carrying all the given tags. */
  async changeMembers(id: string, change: MembersChange, mode: 'add' | 'remove'): Promise<MembersChangeResult | null> {
    const s = this.liveSegments().find((x) => String(x.id) === id);
    if (!s) return null;
    const readers = this.all();
    const byEmail = new Map(readers.filter((r) => r.email).map((r) => [r.email!, r]));
    const byKey = new Map(readers.map((r) => [r.key, r]));
    const keys = new Set<string>();
    const unknown: string[] = [];
    for (const email of change.emails) {
      const r = byEmail.get(normalizeEmail(email));
      if (r) keys.add(r.key);
      else unknown.push(email);
    }
    for (const key of change.keys) {
      if (byKey.has(key)) keys.add(key);
      else unknown.push(key);
    }
    if (change.tags.length) {
      for (const r of readers) if (change.tags.every((t) => r.tags.includes(t))) keys.add(r.key);
    }
    for (const key of keys) this.sql.exec('INSERT OR REPLACE INTO manual (segment_id, key, mode) VALUES (?, ?, ?)', s.id, key, mode);
    if (keys.size) await this.scheduleMirror(0);
    return { changed: [...keys], unknown };
  }

  // ---- Customer.io's segments (App API, cached) ------------------------------------------------

  async cioSegments(workspace: string): Promise<CioSegmentList> {
    this.setMeta('workspace', workspace);
    if (!this.cio) await this.refreshCio();
    else if (Date.now() - this.cio.at > CIO_CACHE_MS) this.ctx.waitUntil(this.refreshCio());
    return { segments: this.cio?.segments ?? [], refreshedAt: this.cio?.at ?? null, error: this.cio?.error ?? null };
  }

  private async refreshCio(): Promise<void> {
    const workspace = this.getMeta('workspace');
    const config = workspace ? await workspaceCustomerIo(this.env, workspace) : null;
    if (!config) {
      this.cio = { at: Date.now(), segments: [], error: 'this workspace has no Customer.io credentials' };
      return;
    }
    const interval = callIntervalMs(config.workspace.limits, 'app', 'directory');
    await this.app.slot(interval);
    const listed = await config.cio.listSegments();
    if (listed.kind !== 'ok') {
      this.cio = { at: Date.now(), segments: this.cio?.segments ?? [], error: `Customer.io answered ${describeFailure(listed)}` };
      return;
    }
    const ours = new Set(this.sql.exec<{ cio_id: number }>('SELECT cio_id FROM segments WHERE cio_id IS NOT NULL').toArray().map((r) => r.cio_id));
    const segments: CioSegment[] = listed.value.map((s) => ({ ...s, count: null, ours: ours.has(s.id) }));
    for (const s of segments.slice(0, MAX_COUNTED_CIO_SEGMENTS)) {
      await this.app.slot(interval);
      const counted = await config.cio.segmentCount(s.id);
      if (counted.kind === 'ok') s.count = counted.value;
    }
    this.cio = { at: Date.now(), segments, error: null };
  }

  // ---- the mirror in Customer.io (alarm) -------------------------------------------------------

  override async alarm(): Promise<void> {
    const workspace = this.getMeta('workspace');
    const config = workspace ? await workspaceCustomerIo(this.env, workspace) : null;
    if (!config) return;
    const { cio } = config;
    const appInterval = callIntervalMs(config.workspace.limits, 'app', 'directory');
    const trackInterval = callIntervalMs(config.workspace.limits, 'track', 'segmentMirror');
    const readers = this.all();
    const segments = this.sql.exec<Row>('SELECT * FROM segments').toArray();
    let retryAt: number | null = null;
    const fail = (segmentId: number, attempts: number, message: string, retryAfterMs: number | null) => {
      this.sql.exec('UPDATE segments SET sync_error = ?, attempts = ? WHERE id = ?', message, attempts + 1, segmentId);
      const at = Date.now() + backoffMs(attempts + 1, retryAfterMs);
      retryAt = retryAt === null ? at : Math.min(retryAt, at);
    };

    for (const row of segments) {
      const id = row.id as number;
      const attempts = row.attempts as number;
      let cioId = row.cio_id as number | null;
      if (row.deleted) {
        if (cioId !== null) {
          await this.app.slot(appInterval);
          const outcome = await cio.deleteSegment(cioId);
          if (outcome.kind === 'retry') { fail(id, attempts, describeFailure(outcome), outcome.retryAfterMs); continue; }
        }
        this.sql.exec('DELETE FROM mirrored WHERE segment_id = ?', id);
        this.sql.exec('DELETE FROM manual WHERE segment_id = ?', id);
        this.sql.exec('DELETE FROM segments WHERE id = ?', id);
        continue;
      }
      if (cioId === null) {
        await this.app.slot(appInterval);
        const created = await cio.createSegment(`SharpSend: ${row.name as string}`, (row.description as string) || 'Mirrored from the SharpSend panel');
        if (created.kind !== 'ok') {
          fail(id, attempts, describeFailure(created), created.kind === 'retry' ? created.retryAfterMs : null);
          continue;
        }
        cioId = created.value.id;
        this.sql.exec('UPDATE segments SET cio_id = ? WHERE id = ?', cioId, id);
        this.cio = null;
      }
      const rule = row.rule ? (JSON.parse(row.rule as string) as SegmentRule) : null;
      const manual = this.manualOf(id);
      const desired = new Map<string, { idType: 'id' | 'email'; value: string }>();
      for (const r of readers) {
        const ident = cioIdentifier(r);
        if (ident && inSegment(r, rule, manual)) desired.set(r.key, ident);
      }
      const current = new Map(this.sql.exec<{ key: string; id_type: string; value: string }>('SELECT key, id_type, value FROM mirrored WHERE segment_id = ?', id)
        .toArray().map((m) => [m.key, { idType: m.id_type as 'id' | 'email', value: m.value }]));
      const adds = [...desired].filter(([key, ident]) => current.get(key)?.value !== ident.value || current.get(key)?.idType !== ident.idType);
      const removes = [...current].filter(([key, ident]) => desired.get(key)?.value !== ident.value || desired.get(key)?.idType !== ident.idType);
      let failed = false;
      for (const [action, list] of [['remove', removes], ['add', adds]] as const) {
        for (const idType of ['id', 'email'] as const) {
          const entries = list.filter(([, ident]) => ident.idType === idType);
          for (let i = 0; i < entries.length && !failed; i += IDS_PER_CALL) {
            const chunk = entries.slice(i, i + IDS_PER_CALL);
            const ids = chunk.map(([, ident]) => ident.value);
            await this.track.slot(trackInterval);
            const outcome = await cio.segmentMembers(action, cioId!, ids, idType);
            if (outcome.kind === 'ok') {
              for (const [key, ident] of chunk) {
                if (action === 'add') this.sql.exec('INSERT OR REPLACE INTO mirrored (segment_id, key, id_type, value) VALUES (?, ?, ?, ?)', id, key, ident.idType, ident.value);
                else this.sql.exec('DELETE FROM mirrored WHERE segment_id = ? AND key = ? AND value = ?', id, key, ident.value);
              }
            } else {
              failed = true;
              fail(id, attempts, describeFailure(outcome), outcome.kind === 'retry' ? outcome.retryAfterMs : null);
            }
          }
        }
      }
      if (!failed) this.sql.exec('UPDATE segments SET sync_error = NULL, attempts = 0, synced_at = ? WHERE id = ?', Date.now(), id);
    }
    this.snapshotIfDue();
    if (retryAt !== null) await this.ctx.storage.setAlarm(retryAt);
  }

  // ---- internals -----------------------------------------------------------------------------

  private async scheduleMirror(delayMs: number): Promise<void> {
    const at = Date.now() + delayMs;
    const current = await this.ctx.storage.getAlarm();
    if (current === null || current > at) await this.ctx.storage.setAlarm(at);
  }

  private all(): ReaderSummary[] {
    return this.sql.exec<Row>('SELECT * FROM readers').toArray().map(toSummary);
  }

  private liveSegments(): Array<{ id: number; name: string; description: string; rule: SegmentRule | null; row: Row }> {
    return this.sql.exec<Row>('SELECT * FROM segments WHERE deleted = 0 ORDER BY id').toArray().map((row) => ({
      id: row.id as number, name: row.name as string, description: row.description as string,
      rule: row.rule ? (JSON.parse(row.rule as string) as SegmentRule) : null, row,
    }));
  }

  private manualOf(segmentId: number): Map<string, 'add' | 'remove'> {
    return new Map(this.sql.exec<{ key: string; mode: string }>('SELECT key, mode FROM manual WHERE segment_id = ?', segmentId)
      .toArray().map((m) => [m.key, m.mode as 'add' | 'remove']));
  }

  private view(s: { id: number; name: string; description: string; rule: SegmentRule | null; row: Row }, readers: ReaderSummary[]): SegmentView {
    const manual = this.manualOf(s.id);
    const members = new Set(readers.filter((r) => inSegment(r, s.rule, manual)).map((r) => r.key));
    const mirrored = this.sql.exec<{ key: string }>('SELECT key FROM mirrored WHERE segment_id = ?', s.id).toArray().map((m) => m.key);
    const mirroredSet = new Set(mirrored);
    const pending = [...members].filter((k) => !mirroredSet.has(k)).length + mirrored.filter((k) => !members.has(k)).length;
    return {
      id: String(s.id), name: s.name, description: s.description, rule: s.rule, ruleText: describeRule(s.rule),
      count: members.size,
      manualAdds: [...manual.values()].filter((m) => m === 'add').length,
      manualRemoves: [...manual.values()].filter((m) => m === 'remove').length,
      cioSegmentId: (s.row.cio_id as number | null) ?? null,
      mirrored: mirrored.length, pending,
      syncError: (s.row.sync_error as string | null) ?? null,
      syncedAt: (s.row.synced_at as number | null) ?? null,
      createdAt: s.row.created_at as number,
    };
  }

  /** Today's tag counts and totals, rewritten at most every few minutes: the "over time" history. */
  private snapshotIfDue(now = Date.now()): void {
    const last = Number(this.getMeta('snapshot_at') ?? 0);
    if (now - last < SNAPSHOT_EVERY_MS && Math.floor(last / DAY_MS) === Math.floor(now / DAY_MS)) return;
    const day = Math.floor(now / DAY_MS);
    const readers = this.all();
    this.sql.exec("DELETE FROM daily WHERE day = ? AND name LIKE 'tag:%'", day);
    for (const [tag, count] of Object.entries(tagCounts(readers))) {
      this.sql.exec('INSERT OR REPLACE INTO daily (day, name, value) VALUES (?, ?, ?)', day, `tag:${tag}`, count);
    }
    this.sql.exec('INSERT OR REPLACE INTO daily (day, name, value) VALUES (?, ?, ?)', day, 'readers', readers.length);
    this.sql.exec('DELETE FROM daily WHERE day < ?', day - 400);
    this.setMeta('snapshot_at', String(now));
  }

  private getMeta(k: string): string | null {
    return this.sql.exec<{ v: string }>('SELECT v FROM meta WHERE k = ?', k).toArray()[0]?.v ?? null;
  }

  private setMeta(k: string, v: string): void {
    this.sql.exec('INSERT OR REPLACE INTO meta (k, v) VALUES (?, ?)', k, v);
  }
}

function tagCounts(readers: ReaderSummary[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const r of readers) for (const t of r.tags) counts[t] = (counts[t] ?? 0) + 1;
  return counts;
}

function toSummary(row: Row): ReaderSummary {
  return {
    key: row.key as string,
    email: (row.email as string | null) ?? null,
    userId: (row.user_id as string | null) ?? null,
    tags: JSON.parse(row.tags as string) as string[],
    score: row.score as number,
    counters: JSON.parse(row.counters as string) as Record<string, number>,
    traits: JSON.parse(row.traits as string) as ReaderSummary['traits'],
    facts: JSON.parse(row.facts as string) as ReaderSummary['facts'],
    activeDays: JSON.parse(row.active_days as string) as number[],
    lastSeen: (row.last_seen as number | null) ?? null,
    signedUpAt: (row.signed_up_at as number | null) ?? null,
    updatedAt: row.updated_at as number,
  };
}
