// Input checks shared by Track v1, Track v2 and the App routes. Messages follow the strings the
// real API returns (docs.customer.io "invalid API requests") where they are known; the rest are
// written in the same style. Each check returns problems instead of throwing so v1 can answer
// `{meta:{errors:[...]}}` and v2 can answer `{errors:[{reason, field, message}]}` from one source.

export const LIMITS = {
  identifierBytes: 150,
  attributeCount: 300,
  attributeNameBytes: 150,
  attributeValueBytes: 1000,
  eventNameBytes: 100,
  eventDataBytes: 100_000,
  v2EntityBytes: 32 * 1024,
  v2BatchBytes: 500 * 1024,
  segmentIdsMax: 1000,
  customersAttributesIdsMax: 100,
  searchLimitMax: 1000,
  membershipLimitMax: 30_000,
  broadcastRecipientsMax: 10_000,
  // Timestamps are Unix seconds. A value more than a year ahead is almost surely milliseconds
  // (today's ms value is ~1.7e12, year ~55000 in seconds). The real cut-off is UNCONFIRMED.
  maxFutureSeconds: 365 * 24 * 3600,
} as const;

export interface Problem {
  field: string;
  reason: 'required' | 'invalid' | 'too_long' | 'too_many';
  message: string;
}

const encoder = new TextEncoder();
export function byteLength(s: string): number {
  return encoder.encode(s).length;
}

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function identifierProblems(value: unknown, field = 'identifier'): Problem[] {
  if (typeof value === 'number' && Number.isFinite(value)) value = String(value);
  if (typeof value !== 'string') return [{ field, reason: 'invalid', message: `${field} must be a string value` }];
  if (value.trim() === '') return [{ field, reason: 'required', message: `${field} cannot be blank` }];
  if (byteLength(value) > LIMITS.identifierBytes) {
    return [{ field, reason: 'too_long', message: `${field} cannot be longer than ${LIMITS.identifierBytes} bytes` }];
  }
  return [];
}

/** Unix seconds as an integer: rejects strings, fractions, negatives and millisecond values. */
export function timestampProblems(value: unknown, field: string, nowMs: number): Problem[] {
  if (value === undefined || value === null) return [];
  const invalid: Problem = { field, reason: 'invalid', message: `${field} must be a valid unix timestamp in seconds` };
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) return [invalid];
  if (value > Math.floor(nowMs / 1000) + LIMITS.maxFutureSeconds) return [invalid];
  return [];
}

function valueBytes(v: unknown): number {
  return byteLength(typeof v === 'string' ? v : JSON.stringify(v) ?? '');
}

export function attributeProblems(attributes: Record<string, unknown>): Problem[] {
  const names = Object.keys(attributes);
  if (names.length > LIMITS.attributeCount) {
    return [{ field: 'attributes', reason: 'too_many', message: `cannot identify more than ${LIMITS.attributeCount} attributes in one request` }];
  }
  const problems: Problem[] = [];
  for (const name of names) {
    if (byteLength(name) > LIMITS.attributeNameBytes) {
      problems.push({ field: name, reason: 'too_long', message: `attribute name cannot be longer than ${LIMITS.attributeNameBytes} bytes` });
    } else if (valueBytes(attributes[name]) > LIMITS.attributeValueBytes) {
      problems.push({ field: name, reason: 'too_long', message: `value for attribute '${name}' cannot be longer than ${LIMITS.attributeValueBytes} bytes` });
    }
  }
  return problems;
}

export interface EventInput {
  name: unknown;
  type?: unknown;
  timestamp?: unknown;
  data?: unknown;
  id?: unknown;
}

export function eventProblems(ev: EventInput, nowMs: number, dataField = 'data'): Problem[] {
  const problems: Problem[] = [];
  if (typeof ev.name !== 'string' || ev.name.trim() === '') {
    problems.push({ field: 'name', reason: 'required', message: 'name cannot be blank' });
  } else if (byteLength(ev.name) > LIMITS.eventNameBytes) {
    // Page views too: Customer.io's 100-byte limit is on every event name.
    problems.push({ field: 'name', reason: 'too_long', message: `event name cannot be longer than ${LIMITS.eventNameBytes} bytes` });
  }
  if (ev.type !== undefined && ev.type !== 'event' && ev.type !== 'page' && ev.type !== 'screen') {
    problems.push({ field: 'type', reason: 'invalid', message: 'type must be one of event, page, screen' });
  }
  if (ev.id !== undefined && (typeof ev.id !== 'string' || ev.id === '')) {
    problems.push({ field: 'id', reason: 'invalid', message: 'event id must be a non-empty string' });
  }
  problems.push(...timestampProblems(ev.timestamp, 'timestamp', nowMs));
  if (ev.data !== undefined && ev.data !== null) {
    if (!isPlainObject(ev.data)) {
      problems.push({ field: dataField, reason: 'invalid', message: 'event data must be a hash' });
    } else if (byteLength(JSON.stringify(ev.data)) > LIMITS.eventDataBytes) {
      problems.push({ field: dataField, reason: 'too_long', message: `event data cannot be longer than ${LIMITS.eventDataBytes} bytes` });
    }
  }
  return problems;
}

/** Identifier kinds a path or `{id|email|cio_id}` object can name. */
export type IdKind = 'id' | 'email' | 'cio_id';
export interface Ref {
  kind: IdKind;
  value: string;
}

/** Track v1 path identifiers: `cio_<x>` is a cio_id, anything with @ an email, the rest an id. */
export function refFromPath(identifier: string): Ref {
  if (identifier.startsWith('cio_')) return { kind: 'cio_id', value: identifier.slice(4) };
  if (identifier.includes('@')) return { kind: 'email', value: identifier };
  return { kind: 'id', value: identifier };
}

/** `{id}` | `{email}` | `{cio_id}` with exactly one key (merge sides, v2 identifiers, transactional). */
export function refFromObject(v: unknown, field: string): Ref | Problem {
  if (!isPlainObject(v)) return { field, reason: 'required', message: `${field} must be an object with one of id, email, cio_id` };
  const keys = Object.keys(v);
  if (keys.length !== 1) return { field, reason: 'invalid', message: `${field} must have exactly one identifier` };
  const kind = keys[0] as string;
  if (kind !== 'id' && kind !== 'email' && kind !== 'cio_id') {
    return { field, reason: 'invalid', message: `${field} identifier must be one of id, email, cio_id` };
  }
  const problems = identifierProblems(v[kind], `${field}.${kind}`);
  if (problems[0]) return problems[0];
  return { kind, value: String(v[kind]) };
}

/**
 * Customer.io's published specs say that where email is disabled as an identifier people must be
 * referenced by `id` or `cio_id`; the exact error text is not published, so this wording follows theirs.
 */
export const EMAIL_DISABLED = 'email identifiers are disabled in this workspace: reference people by id or cio_id';

/** A reference by email in a workspace that does not take email as an identifier. */
export function emailRefused(ws: { config: { emailIdentifier?: boolean } }, ref: Ref): Problem | null {
  return ref.kind === 'email' && ws.config.emailIdentifier === false ? { field: 'identifiers.email', reason: 'invalid', message: EMAIL_DISABLED } : null;
}

export function isProblem(v: Ref | Problem): v is Problem {
  return 'message' in v;
}

/** `id_type` query values accepted by the App and segment endpoints (phone is not modelled). */
export function idTypeFromQuery(v: string | null): IdKind | null {
  if (v === null || v === '') return 'id';
  return v === 'id' || v === 'email' || v === 'cio_id' ? v : null;
}
