// The fake's in-memory model: one isolated WorkspaceState per workspace, plus the server-wide
// request log, failure queue, limits and rate book. Routes change state only through this module
// and people.ts, so Track v1 and Track v2 cannot drift apart.

import { RateBook } from './rate-limit.ts';
import type { IdKind, Ref } from './validate.ts';
import { WebhookSender } from './webhooks.ts';

export interface FakeWorkspaceConfig {
  name: string;
  siteId: string;
  trackKey: string;
  appKey: string;
  /** The data center the account lives in (`GET /api/v1/accounts/region`); US when not given. */
  region?: 'us' | 'eu';
  /**
   * Whether `email` is an identifier (Customer.io's workspace setting; on unless false). Where it is
   * off, naming a person by email is refused with EMAIL_DISABLED (validate.ts).
   */
  emailIdentifier?: boolean;
}

export interface Limits {
  trackPerSecond: number;
  appPerSecond: number;
  broadcastIntervalMs: number;
}

export interface StoredEvent {
  id: string | null;
  name: string;
  type: 'event' | 'page' | 'screen';
  timestamp: number;
  data: Record<string, unknown>;
  anonymousId: string | null;
  /** True when the event was sent anonymously and attached later by identify's anonymous_id. */
  mergedFromAnonymous: boolean;
  receivedAt: number;
}

export interface Device {
  id: string;
  platform: string;
  lastUsed: number | null;
  attributes: Record<string, unknown>;
}

export interface Person {
  /** Insertion order; paging cursors are built on it so walks stay stable while people change. */
  seq: number;
  cioId: string;
  id: string | null;
  email: string | null;
  attributes: Record<string, unknown>;
  events: StoredEvent[];
  devices: Device[];
  createdAt: number;
  updatedAt: number;
}

export interface FakeObject {
  objectTypeId: string;
  objectId: string;
  attributes: Record<string, unknown>;
  /** cio_ids of the related people. */
  relationships: Set<string>;
  createdAt: number;
  updatedAt: number;
}

export interface Segment {
  id: number;
  name: string;
  description: string;
  type: 'manual' | 'dynamic';
  /** cio_ids of members. */
  members: Set<string>;
  createdAt: number;
  updatedAt: number;
}

export interface Broadcast {
  id: number;
  name: string;
  createdAt: number;
}

export interface Campaign {
  id: number;
  name: string;
  createdAt: number;
}

export interface BroadcastTrigger {
  id: number;
  broadcastId: number;
  createdAt: number;
  processedAt: number;
  /** Which audience form was used: default | recipients | ids | emails | per_user_data | data_file_url. */
  audience: string;
  /** Resolved recipients (cio_ids) where the fake can resolve them. */
  recipients: string[];
  data: Record<string, unknown> | null;
  body: unknown;
}

export interface Delivery {
  deliveryId: string;
  channel: 'email' | 'push';
  queuedAt: number;
  identifiers: unknown;
  to: unknown;
  transactionalMessageId: unknown;
  body: unknown;
}

export interface MergeRecord {
  primary: Ref;
  secondary: Ref;
  at: number;
  /** False when a side was missing and the merge was a silent no-op, as in the real API. */
  applied: boolean;
}

export class WorkspaceState {
  config: FakeWorkspaceConfig;
  people = new Map<string, Person>(); // by cio_id
  private byId = new Map<string, string>();
  private byEmail = new Map<string, string>(); // lower-cased email -> cio_id
  private nextSeq = 1;
  /** Anonymous events waiting for an identify with their anonymous_id. */
  anonymousEvents = new Map<string, StoredEvent[]>();
  /** anonymous_ids already merged: single use, as in the real API. */
  usedAnonymousIds = new Set<string>();
  /** Events sent to /api/v1/events without anonymous_id ("invite" events). */
  inviteEvents: StoredEvent[] = [];
  /** Event `id`s already recorded, for dedupe. */
  seenEventIds = new Set<string>();
  /** Suppressed identifiers, as `${kind}:${value}` (email lower-cased). */
  suppressed = new Set<string>();
  segments = new Map<number, Segment>();
  nextSegmentId = 1;
  broadcasts = new Map<number, Broadcast>();
  campaigns = new Map<number, Campaign>();
  triggers: BroadcastTrigger[] = [];
  nextTriggerId = 1;
  deliveries: Delivery[] = [];
  merges: MergeRecord[] = [];
  /** Custom objects (companies…) by `<object_type_id>:<object_id>`, with the people related to them. */
  objects = new Map<string, FakeObject>();

  constructor(config: FakeWorkspaceConfig, now: number) {
    this.config = config;
    const t = Math.floor(now / 1000);
    // Broadcasts are made in Customer.io's UI only, so every workspace starts with two.
    this.broadcasts.set(1, { id: 1, name: 'Weekly digest', createdAt: t });
    this.broadcasts.set(2, { id: 2, name: 'Breaking news', createdAt: t });
    this.campaigns.set(3, { id: 3, name: 'Welcome series', createdAt: t });
  }

  find(ref: Ref): Person | undefined {
    const cioId = ref.kind === 'cio_id' ? ref.value : ref.kind === 'id' ? this.byId.get(ref.value) : this.byEmail.get(ref.value.toLowerCase());
    return cioId === undefined ? undefined : this.people.get(cioId);
  }

  create(id: string | null, email: string | null, now: number): Person {
    const seq = this.nextSeq++;
    const t = Math.floor(now / 1000);
    const person: Person = {
      seq,
      // Real cio_ids are 12+ hex digits; deriving from seq keeps them unique per workspace.
      cioId: (0xc10000000000 + seq).toString(16),
      id: null,
      email: null,
      attributes: {},
      events: [],
      devices: [],
      createdAt: t,
      updatedAt: t,
    };
    this.people.set(person.cioId, person);
    this.setId(person, id);
    this.setEmail(person, email);
    return person;
  }

  /** Give a person an id; refused (false) when another person already holds it. */
  setId(person: Person, id: string | null): boolean {
    if (id === person.id) return true;
    if (id !== null && this.byId.has(id)) return false;
    if (person.id !== null) this.byId.delete(person.id);
    person.id = id;
    if (id !== null) {
      this.byId.set(id, person.cioId);
      person.attributes.id = id;
    } else delete person.attributes.id;
    return true;
  }

  setEmail(person: Person, email: string | null): boolean {
    if (email !== null && person.email !== null && email.toLowerCase() === person.email.toLowerCase()) {
      person.email = email;
      person.attributes.email = email;
      return true;
    }
    if (email !== null && this.byEmail.has(email.toLowerCase())) return false;
    if (person.email !== null) this.byEmail.delete(person.email.toLowerCase());
    person.email = email;
    if (email !== null) {
      this.byEmail.set(email.toLowerCase(), person.cioId);
      person.attributes.email = email;
    } else delete person.attributes.email;
    return true;
  }

  delete(person: Person): void {
    this.people.delete(person.cioId);
    if (person.id !== null) this.byId.delete(person.id);
    if (person.email !== null) this.byEmail.delete(person.email.toLowerCase());
    for (const segment of this.segments.values()) segment.members.delete(person.cioId);
  }

  isSuppressed(ref: Ref): boolean {
    return this.suppressed.has(suppressionKey(ref));
  }

  /** People in insertion order (the order every paged listing uses). */
  peopleInOrder(): Person[] {
    return [...this.people.values()].sort((a, b) => a.seq - b.seq);
  }

  segmentsOf(person: Person): Segment[] {
    return [...this.segments.values()].filter((s) => s.members.has(person.cioId));
  }

  addSegment(name: string, description: string, type: Segment['type'], now: number): Segment {
    const t = Math.floor(now / 1000);
    const segment: Segment = { id: this.nextSegmentId++, name, description, type, members: new Set(), createdAt: t, updatedAt: t };
    this.segments.set(segment.id, segment);
    return segment;
  }
}

export function suppressionKey(ref: Ref): string {
  return `${ref.kind}:${ref.kind === 'email' ? ref.value.toLowerCase() : ref.value}`;
}

export function refOfKind(kind: IdKind, value: string): Ref {
  return { kind, value };
}

export type ApiName = 'track' | 'app' | 'control' | 'unknown';

export interface RequestLogEntry {
  seq: number;
  method: string;
  path: string;
  query: Record<string, string>;
  workspace: string | null;
  api: ApiName;
  body: unknown;
  /** Answered status; 0 while in flight or when the connection was dropped on purpose. */
  status: number;
  /** Epoch milliseconds when the request arrived. */
  at: number;
}

export interface FailureRule {
  status: number | null;
  remaining: number;
  latencyMs: number;
  drop: boolean;
  api: 'track' | 'app' | 'any';
  workspace: string | null;
  /** Only calls whose path starts with this (`/v1/campaigns/` for broadcast triggers); null: any. */
  path: string | null;
  /** Answer with an HTML page instead of JSON, as a load balancer or a gateway error does. */
  html: boolean;
  /** A 429 without `Retry-After` (Customer.io does not promise the header on every 429). */
  noRetryAfter: boolean;
  /** The `Retry-After` (whole seconds) an injected 429 carries. */
  retryAfterSeconds: number;
  /** Apply the call, then answer `status` anyway: the caller cannot tell whether it happened. */
  afterApply: boolean;
}

export const DEFAULT_WORKSPACES: FakeWorkspaceConfig[] = [
  { name: 'demo', siteId: 'demo_site', trackKey: 'demo_track_key', appKey: 'demo_app_key' },
  { name: 'other', siteId: 'other_site', trackKey: 'other_track_key', appKey: 'other_app_key' },
  { name: 'europe', siteId: 'eu_site', trackKey: 'eu_track_key', appKey: 'eu_app_key', region: 'eu' },
  { name: 'idonly', siteId: 'idonly_site', trackKey: 'idonly_track_key', appKey: 'idonly_app_key', emailIdentifier: false },
];

export const DEFAULT_LIMITS: Limits = { trackPerSecond: 100, appPerSecond: 10, broadcastIntervalMs: 10_000 };

export class FakeState {
  workspaceConfigs: FakeWorkspaceConfig[];
  workspaces = new Map<string, WorkspaceState>();
  limits: Limits;
  private initialLimits: Limits;
  log: RequestLogEntry[] = [];
  nextLogSeq = 1;
  failures: FailureRule[] = [];
  rates = new RateBook();
  /** How v2 batch operations are applied: in order, or reversed (Customer.io promises no order). */
  batchOrder: 'in_order' | 'reverse' = 'in_order';
  /** Reporting webhooks the fake sends for what it delivers (webhooks.ts). */
  webhooks = new WebhookSender();
  /**
   * How far the fake's clock runs ahead of real time (0 unless a reset asks). A test whose object
   * runs on a manual clock ahead of real time lines the fake up with it, so the times the fake
   * stamps (trigger created_at) compare with the object's as they would in production.
   */
  clockOffsetMs = 0;

  constructor(configs: FakeWorkspaceConfig[], limits: Limits) {
    this.workspaceConfigs = configs;
    this.initialLimits = { ...limits };
    this.limits = { ...limits };
    this.seed();
  }

  /** Clear everything and restore the seeds; limits go back to the start-up ones unless overridden, the clock to real time unless offset. */
  reset(limits?: Partial<Limits>, clockOffsetMs = 0): void {
    this.limits = { ...this.initialLimits, ...limits };
    this.clockOffsetMs = clockOffsetMs;
    this.log = [];
    this.nextLogSeq = 1;
    this.failures = [];
    this.rates = new RateBook();
    this.webhooks.reset();
    this.batchOrder = 'in_order';
    this.seed();
  }

  /** The fake's time: every route, limit and rate reads it. */
  now(): number {
    return Date.now() + this.clockOffsetMs;
  }

  workspace(name: string): WorkspaceState | undefined {
    return this.workspaces.get(name);
  }

  private seed(): void {
    this.workspaces.clear();
    const now = this.now();
    for (const config of this.workspaceConfigs) this.workspaces.set(config.name, new WorkspaceState(config, now));
  }
}
