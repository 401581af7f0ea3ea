// Operations on people, shared by Track v1 and Track v2 (and seeding). Inputs arrive validated;
// these functions hold the semantics documented in customerio-api.md: identify/update, anonymous
// merge (single use), event dedupe by id, merge_customers, suppress/unsuppress.

import type { Person, StoredEvent, WorkspaceState, MergeRecord } from './state.ts';
import { suppressionKey } from './state.ts';
import type { Ref } from './validate.ts';

/** Keys of an identify body that steer the call rather than becoming attributes. */
const CONTROL_KEYS = new Set(['id', 'email', 'anonymous_id', '_update', '_timestamp', 'cio_relationships']);

export interface IdentifyInput {
  ref: Ref;
  body: Record<string, unknown>;
}

/** Create or update a person. Returns null when nothing was applied (suppressed, `_update` miss, unknown cio_id). */
export function identify(ws: WorkspaceState, { ref, body }: IdentifyInput, now: number): Person | null {
  const newId = body.id === undefined || body.id === null ? null : String(body.id);
  const newEmail = typeof body.email === 'string' && body.email !== '' ? body.email : null;
  if (ws.isSuppressed(ref) || (newEmail !== null && ws.isSuppressed({ kind: 'email', value: newEmail }))) return null;

  let person = ws.find(ref);
  // An identify with a new id but an email someone already has updates that person (real API).
  if (!person && ref.kind === 'id' && newEmail !== null) person = ws.find({ kind: 'email', value: newEmail });
  if (!person) {
    // An unknown cio_id is dropped silently; `_update: true` means "never create".
    if (ref.kind === 'cio_id' || body._update === true) return null;
    person = ws.create(null, null, now);
  }
  if (ref.kind === 'id') ws.setId(person, ref.value);
  if (ref.kind === 'email') ws.setEmail(person, ref.value);
  if (newId !== null && ref.kind !== 'id') ws.setId(person, newId);
  if (newEmail !== null) ws.setEmail(person, newEmail);

  for (const [key, value] of Object.entries(body)) {
    if (CONTROL_KEYS.has(key)) continue;
    // Customer.io removes an attribute sent as null or "".
    if (value === null || value === '') delete person.attributes[key];
    else person.attributes[key] = value;
  }
  const anonymousId = body.anonymous_id;
  if (typeof anonymousId === 'string' && anonymousId !== '') attachAnonymous(ws, person, anonymousId);
  person.updatedAt = Math.floor(now / 1000);
  return person;
}

/** Move an anonymous id's waiting events onto the person. The id works once only. */
function attachAnonymous(ws: WorkspaceState, person: Person, anonymousId: string): void {
  if (ws.usedAnonymousIds.has(anonymousId)) return;
  ws.usedAnonymousIds.add(anonymousId);
  const waiting = ws.anonymousEvents.get(anonymousId) ?? [];
  ws.anonymousEvents.delete(anonymousId);
  for (const ev of waiting) person.events.push({ ...ev, mergedFromAnonymous: true });
  person.events.sort((a, b) => a.timestamp - b.timestamp || a.receivedAt - b.receivedAt);
}

export interface EventFields {
  name: string;
  type?: unknown;
  id?: unknown;
  timestamp?: unknown;
  data?: unknown;
}

export function makeEvent(fields: EventFields, anonymousId: string | null, now: number): StoredEvent {
  return {
    id: typeof fields.id === 'string' ? fields.id : null,
    name: fields.name,
    type: fields.type === 'page' || fields.type === 'screen' ? fields.type : 'event',
    timestamp: typeof fields.timestamp === 'number' ? fields.timestamp : Math.floor(now / 1000),
    data: (fields.data as Record<string, unknown> | undefined) ?? {},
    anonymousId,
    mergedFromAnonymous: false,
    receivedAt: now,
  };
}

/** Dedupe by event id: the same id twice is recorded once (both calls still answer 200). */
function firstSighting(ws: WorkspaceState, ev: StoredEvent): boolean {
  if (ev.id === null) return true;
  if (ws.seenEventIds.has(ev.id)) return false;
  ws.seenEventIds.add(ev.id);
  return true;
}

/** Event for a known identifier; an unknown id/email creates the person, as the Track API does. */
export function trackEvent(ws: WorkspaceState, ref: Ref, fields: EventFields, now: number): void {
  if (ws.isSuppressed(ref)) return;
  let person = ws.find(ref);
  if (!person) {
    if (ref.kind === 'cio_id') return;
    person = ws.create(ref.kind === 'id' ? ref.value : null, ref.kind === 'email' ? ref.value : null, now);
  }
  const ev = makeEvent(fields, null, now);
  if (firstSighting(ws, ev)) person.events.push(ev);
}

export function trackAnonymous(ws: WorkspaceState, anonymousId: string | null, fields: EventFields, now: number): void {
  const ev = makeEvent(fields, anonymousId, now);
  if (!firstSighting(ws, ev)) return;
  if (anonymousId === null) {
    ws.inviteEvents.push(ev);
    return;
  }
  const list = ws.anonymousEvents.get(anonymousId) ?? [];
  list.push(ev);
  ws.anonymousEvents.set(anonymousId, list);
}

export function deletePerson(ws: WorkspaceState, ref: Ref): void {
  const person = ws.find(ref);
  if (person) ws.delete(person);
}

/** Suppress deletes the person and blocks every identifier they had (and the one named). */
export function suppress(ws: WorkspaceState, ref: Ref): void {
  ws.suppressed.add(suppressionKey(ref));
  const person = ws.find(ref);
  if (!person) return;
  ws.suppressed.add(suppressionKey({ kind: 'cio_id', value: person.cioId }));
  if (person.id !== null) ws.suppressed.add(suppressionKey({ kind: 'id', value: person.id }));
  if (person.email !== null) ws.suppressed.add(suppressionKey({ kind: 'email', value: person.email }));
  ws.delete(person);
}

export function unsuppress(ws: WorkspaceState, ref: Ref): void {
  ws.suppressed.delete(suppressionKey(ref));
}

/**
 * Merge secondary into primary: the primary's attributes win, the secondary's events, devices and
 * segment memberships move over, and the secondary is deleted. A missing side is a silent no-op.
 */
export function mergePeople(ws: WorkspaceState, primaryRef: Ref, secondaryRef: Ref, now: number): MergeRecord {
  const primary = ws.find(primaryRef);
  const secondary = ws.find(secondaryRef);
  const record: MergeRecord = { primary: primaryRef, secondary: secondaryRef, at: now, applied: false };
  ws.merges.push(record);
  if (!primary || !secondary || primary === secondary) return record;

  for (const [key, value] of Object.entries(secondary.attributes)) {
    if (key === 'id' || key === 'email') continue;
    if (!(key in primary.attributes)) primary.attributes[key] = value;
  }
  primary.events.push(...secondary.events);
  primary.events.sort((a, b) => a.timestamp - b.timestamp || a.receivedAt - b.receivedAt);
  primary.devices.push(...secondary.devices);
  for (const segment of ws.segmentsOf(secondary)) segment.members.add(primary.cioId);
  // Relationships move to the primary too (the merge keeps everything of the secondary).
  for (const object of ws.objects.values()) if (object.relationships.delete(secondary.cioId)) object.relationships.add(primary.cioId);
  const { id, email } = secondary;
  ws.delete(secondary);
  // Identifiers the primary lacks are taken over once the secondary no longer holds them.
  if (primary.id === null && id !== null) ws.setId(primary, id);
  if (primary.email === null && email !== null) ws.setEmail(primary, email);
  primary.updatedAt = Math.floor(now / 1000);
  record.applied = true;
  return record;
}
