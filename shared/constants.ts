/** Fixed points of the public surface (see README "Fixed points"). Both sides import these. */

export const DEFAULT_EDGE_PORT = 8787;
export const DEFAULT_FAKE_CIO_PORT = 8790;

/** Largest body POST /v1/events accepts; a beacon is capped at 64 KiB by browsers anyway. */
export const MAX_EVENTS_BODY_BYTES = 64 * 1024;
/** Events per batch: enough for a page's worth of queued events, small enough to process in one go. */
export const MAX_EVENTS_PER_BATCH = 50;

/** Customer.io attribute names we write are prefixed so they never clash with the publisher's own. */
export const DEFAULT_ATTRIBUTE_PREFIX = 'sharpsend_';

/** localStorage keys the widget owns. */
export const STORAGE_KEYS = {
  anonymousId: 'sharpsend:aid',
  queue: 'sharpsend:queue',
  preferences: 'sharpsend:prefs',
  consent: 'sharpsend:consent',
  /** A sign-up from this device succeeded (the form then says so instead of asking again). */
  subscribed: 'sharpsend:subscribed',
} as const;
