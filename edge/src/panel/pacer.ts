/**
 * Spaces calls from one Durable Object: each `slot()` resolves no sooner than `interval` after the
 * previous one. The panel's objects take small shares of the workspace's Customer.io limits (see
 * README "Editors' panel") so that, with the sync shards' 90 %, the total stays under the limit.
 */
import { sleep } from '#edge/sync/pacing.ts';

/**
 * Shares of the workspace limits the panel's objects use. Track: the outbox shards use 90 %, the
 * segment mirror 5 %. App: the backfill uses half; the panel's directory (Customer.io segment lists
 * and counts, segment creation) and its send queue (triggers, welcomes) split the other half.
 */
export const PANEL_TRACK_SHARE = 0.05;
export const PANEL_DIRECTORY_APP_SHARE = 0.2;
export const PANEL_SENDS_APP_SHARE = 0.25;

export class Pacer {
  private next = 0;

  async slot(intervalMs: number): Promise<void> {
    const now = Date.now();
    const at = Math.max(now, this.next);
    this.next = at + intervalMs;
    if (at > now) await sleep(at - now);
  }
}
