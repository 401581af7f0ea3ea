// JSON shapes the App API and the control surface answer with, and the stable paging cursor.

import type { Person, Segment, WorkspaceState } from './state.ts';

export function identifiersOf(p: Person): { id: string | null; email: string | null; cio_id: string } {
  return { id: p.id, email: p.email, cio_id: p.cioId };
}

/** `GET /v1/customers/{id}/attributes`: the App API returns attribute values as strings. */
export function customerView(p: Person): Record<string, unknown> {
  const attributes: Record<string, string> = {};
  for (const [k, v] of Object.entries(p.attributes)) attributes[k] = typeof v === 'string' ? v : JSON.stringify(v);
  attributes.cio_id = p.cioId;
  return {
    id: p.id,
    identifiers: identifiersOf(p),
    attributes,
    timestamps: { cio_id: p.createdAt, ...(p.id !== null ? { id: p.createdAt } : {}), ...(p.email !== null ? { email: p.createdAt } : {}) },
    unsubscribed: p.attributes.unsubscribed === true || p.attributes.unsubscribed === 'true',
    devices: p.devices.map((d) => ({ id: d.id, platform: d.platform, last_used: d.lastUsed, attributes: d.attributes })),
  };
}

export function segmentView(s: Segment): Record<string, unknown> {
  return {
    id: s.id,
    deduplicate_id: `${s.id}:${s.updatedAt}`,
    name: s.name,
    description: s.description,
    state: 'finished',
    progress: null,
    type: s.type,
    tags: null,
    created_at: s.createdAt,
    updated_at: s.updatedAt,
  };
}

/** Everything the fake knows about a person, for `/_fake/people`. */
export function personDebugView(ws: WorkspaceState, p: Person): Record<string, unknown> {
  return {
    ...identifiersOf(p),
    attributes: p.attributes,
    events: p.events,
    devices: p.devices,
    segments: ws.segmentsOf(p).map((s) => s.id),
    suppressed: false,
    created_at: p.createdAt,
    updated_at: p.updatedAt,
  };
}

/**
 * Page through people in insertion order. The cursor names the last person returned (by seq), so
 * people added or deleted during a walk never cause skips or repeats of the others.
 */
export function pagePeople(people: Person[], start: string | null, limit: number): { page: Person[]; next: string } | null {
  let after = 0;
  if (start !== null && start !== '') {
    const decoded = Buffer.from(start, 'base64url').toString('utf8');
    if (!/^p:\d+$/.test(decoded)) return null;
    after = Number(decoded.slice(2));
  }
  const rest = people.filter((p) => p.seq > after);
  const page = rest.slice(0, limit);
  const last = page[page.length - 1];
  const next = rest.length > page.length && last ? Buffer.from(`p:${last.seq}`, 'utf8').toString('base64url') : '';
  return { page, next };
}
