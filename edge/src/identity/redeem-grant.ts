/**
 * Redeeming a click grant (POST /v1/events/grant, mounted by ingest/events-route.ts): the widget
 * found `#ss_grant=…` on the landing page and names the browser's anonymous reader. Verified here,
 * bounded on the reader the grant names (at most `maxBrowsers` browsers per email), then merged
 * exactly as a sign-up merges: the anonymous reader's history moves to the known one once, and
 * its later events follow the forward pointer.
 */
import type { Env } from '#edge/env.ts';
import type { EdgeWorkspace } from '#edge/workspaces/edge-workspace.ts';
import type { GrantRedeemed, GrantRedemption } from '#shared/protocol.ts';
import { GRANT_REASONS, verifyGrant } from '#shared/email/grants.ts';
import { ClientError } from '#edge/platform/errors.ts';
import { readerStub } from '#edge/platform/stubs.ts';
import { readerContext, resolveReader } from '#edge/readers/access.ts';
import { type ReaderKey, anonymousKey } from '#edge/readers/names.ts';
import { signingKeys } from '#edge/email/keys.ts';

export async function redeemGrant(env: Env, ws: EdgeWorkspace, request: GrantRedemption, now: number): Promise<GrantRedeemed> {
  const [body] = request.events;
  if (!ws.clickIdentity.enabled) {
    throw new ClientError(403, `Click-through identity is turned off for workspace "${ws.id}"`, [{ path: 'events.0.grant', message: 'not accepted: clickIdentity.enabled is false' }]);
  }
  const check = await verifyGrant(ws.id, body.grant, await signingKeys(env, ws.id), now);
  if (!check.ok) throw new ClientError(400, `Grant refused: ${check.reason}`, [{ path: 'events.0.grant', message: GRANT_REASONS[check.reason] }]);

  const target = check.readerKey as ReaderKey;
  const key = anonymousKey(body.anonymousId);
  // A browser that already belongs to someone else (they signed up in it, or an earlier grant) is
  // not taken over by a click: a forwarded email must not re-point a subscriber's own browser.
  // Compared after following merge pointers, so the same person under two keys is no conflict.
  const [owner, clicked] = await Promise.all([resolveReader(env, ws.id, key), resolveReader(env, ws.id, target)]);
  if (owner?.known && owner.key !== (clicked?.key ?? target)) {
    throw new ClientError(409, 'Grant refused: browser belongs to another reader', [{ path: 'events.0.anonymousId', message: 'this browser is already linked to a different reader; nothing was merged' }]);
  }
  const admitted = await readerStub(env, ws.id, target).admitGrant(check.grantId, body.anonymousId, ws.clickIdentity.maxBrowsers, check.expiresAt);
  if (admitted.unknown) throw new ClientError(404, 'Grant refused: unknown reader', [{ path: 'events.0.grant', message: 'names a reader this edge no longer holds' }]);
  if (!admitted.admitted) {
    throw new ClientError(403, 'Grant refused: browser limit reached', [{
      path: 'events.0.grant',
      message: `has already linked ${admitted.browsers} browsers, the most this workspace allows (clickIdentity.maxBrowsers = ${ws.clickIdentity.maxBrowsers}); nothing was merged`,
    }]);
  }
  await readerStub(env, ws.id, key).linkTo(readerContext(ws, key), target);
  return { linked: true, already: admitted.already };
}
