/**
 * What an identify or a track call of the server API does, in one place: the single calls
 * (`/v1/server/identify`, `/v1/server/track`) and every item of `/v1/server/batch` go through
 * these functions, so an imported subscriber is exactly a subscriber identified one by one.
 */
import type { Env } from '#edge/env.ts';
import type { GroupCall, IdentifyCall, TrackCall } from '#shared/server-api.ts';
import { normalizeEmail } from '#shared/email-address.ts';
import type { EdgeWorkspace } from '#edge/workspaces/edge-workspace.ts';
import { ingestEvents, readerContext } from '#edge/readers/access.ts';
import { readerStub } from '#edge/platform/stubs.ts';
import { type ReaderKey, anonymousKey, emailKey, userKey } from '#edge/readers/names.ts';
import type { IngestResult } from '#edge/readers/reader-object.ts';
import type { AnyReaderEvent } from '#edge/readers/apply-event.ts';
import { ulid } from '#edge/platform/ulid.ts';

/** The reader an identify lands on: the email when there is one (userId alone otherwise). */
export function identifyTarget(call: IdentifyCall): ReaderKey {
  const email = typeof call.traits.email === 'string' ? call.traits.email : undefined;
  return email ? emailKey(email) : userKey(call.userId!);
}

/** The reader a track call lands on. */
export const trackTarget = (call: TrackCall): ReaderKey => (call.userId ? userKey(call.userId) : anonymousKey(call.anonymousId!));

/**
 * Identify: the target reader takes the ids and traits, then what the call proves to be one person
 * (the userId beside an email, the anonymous id) is merged into it once. Reader RPCs: 1 + one per
 * alias, so at most 3. A repeated messageId counts as a duplicate but the links are still made
 * (they are idempotent), so a batch re-sent after a failure between the two steps completes.
 */
export async function identifyReader(env: Env, ws: EdgeWorkspace, call: IdentifyCall): Promise<{ target: ReaderKey; result: IngestResult }> {
  const email = typeof call.traits.email === 'string' ? normalizeEmail(call.traits.email) : undefined;
  const { email: _email, ...traits } = call.traits;
  const target = identifyTarget(call);
  const result = await readerStub(env, ws.id, target).identify(readerContext(ws, target), { userId: call.userId, email, traits }, call.messageId);
  const aliases: ReaderKey[] = [];
  if (email && call.userId) aliases.push(userKey(call.userId));
  if (call.anonymousId) aliases.push(anonymousKey(call.anonymousId));
  for (const alias of aliases) await readerStub(env, ws.id, alias).linkTo(readerContext(ws, alias), target);
  return { target, result };
}

/** The reader event a track call is: its messageId is the event id the reader dedupes by. */
export function trackEvent(call: TrackCall, ts: number): AnyReaderEvent {
  return {
    type: 'track', id: call.messageId ?? ulid(), anonymousId: call.anonymousId ?? 'server', ts,
    name: call.event, properties: call.properties,
  };
}

/** Track calls of one reader, in order, in one RPC (the reader dedupes by event id). */
export function trackEvents(env: Env, ws: EdgeWorkspace, key: ReaderKey, events: AnyReaderEvent[]): Promise<IngestResult> {
  return ingestEvents(env, ws, key, events);
}

/** Group: the reader (by userId, else anonymous id) joins or leaves a company. One reader RPC. */
export function groupReader(env: Env, ws: EdgeWorkspace, call: GroupCall): Promise<IngestResult> {
  const key: ReaderKey = call.userId ? userKey(call.userId) : anonymousKey(call.anonymousId!);
  return readerStub(env, ws.id, key).group(readerContext(ws, key),
    { objectTypeId: call.objectTypeId, groupId: call.groupId, traits: call.traits, remove: call.remove }, call.messageId);
}
