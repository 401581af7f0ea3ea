/**
 * Spaces calls from one Durable Object: each `slot()` resolves no sooner than `interval` after the
 * previous one. The interval comes from the object's share of the workspace's Customer.io limits
 * (edge/src/customerio/budget.ts holds every share).
 */
import { sleep } from '#edge/sync/pacing.ts';

export class Pacer {
  private next = 0;

  async slot(intervalMs: number): Promise<void> {
    const now = Date.now();
    const at = Math.max(now, this.next);
    this.next = at + intervalMs;
    if (at > now) await sleep(at - now);
  }
}
