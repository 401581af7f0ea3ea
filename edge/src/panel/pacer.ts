/**
 * Spaces calls from one Durable Object: each `slot()` resolves no sooner than `interval` after the
 * previous one. The panel's objects take small shares of the workspace's Customer.io limits (see
 * README "Editors' panel") so that, with the sync shards' 90 %, the total stays under the limit.
 */
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Shares of the workspace limits the panel's objects use. */
export const PANEL_TRACK_SHARE = 0.05;
export const PANEL_APP_SHARE = 0.4;

export class Pacer {
  private next = 0;

  async slot(intervalMs: number): Promise<void> {
    const now = Date.now();
    const at = Math.max(now, this.next);
    this.next = at + intervalMs;
    if (at > now) await sleep(at - now);
  }
}
