// Rate limiting and rate measurement, kept free of HTTP so it can be unit tested with a fake clock.
//
// The fake enforces Customer.io's documented limits (App API 10/s, one broadcast trigger per
// 10 s) and a configurable Track limit, and records the busiest 1-second window it saw, so tests
// can prove a client stays under a limit instead of merely surviving 429s.

export type Decision = { ok: true } | { ok: false; retryAfterSeconds: number };

/** Sliding-window limiter: at most `limit` accepted events in any `windowMs` span. */
export class SlidingWindowLimiter {
  limit: number;
  windowMs: number;
  private accepted: number[] = [];

  constructor(limit: number, windowMs: number) {
    this.limit = limit;
    this.windowMs = windowMs;
  }

  /** Accept (and remember) one event at `now`, or say how long to wait. Rejections are not remembered. */
  tryAcquire(now: number): Decision {
    this.forget(now);
    if (this.accepted.length < this.limit) {
      this.accepted.push(now);
      return { ok: true };
    }
    // The oldest accepted event leaves the window at oldest + windowMs; Retry-After is whole seconds, at least 1.
    const oldest = this.accepted[0] ?? now;
    const waitMs = oldest + this.windowMs - now;
    return { ok: false, retryAfterSeconds: Math.max(1, Math.ceil(waitMs / 1000)) };
  }

  private forget(now: number): void {
    while (this.accepted.length > 0 && (this.accepted[0] as number) <= now - this.windowMs) this.accepted.shift();
  }
}

/** Records the maximum number of events seen in any window of `windowMs` (default 1000 ms). */
export class PeakRecorder {
  peak = 0;
  total = 0;
  windowMs: number;
  private recent: number[] = [];

  constructor(windowMs = 1000) {
    this.windowMs = windowMs;
  }

  // Checking the window ending at each event is enough: the busiest window can always be slid
  // so that it ends on an event.
  record(now: number): void {
    this.total++;
    this.recent.push(now);
    while (this.recent.length > 0 && (this.recent[0] as number) <= now - this.windowMs) this.recent.shift();
    if (this.recent.length > this.peak) this.peak = this.recent.length;
  }
}

export type RatedApi = 'track' | 'app';

export interface ApiRates {
  /** Peak requests in any 1000 ms window, counting every authenticated request including 429s. */
  peakReceived: number;
  /** Same, counting only requests that were not answered 429. */
  peakAccepted: number;
  received: number;
  accepted: number;
  rejected: number;
}

/** Per workspace and API: the limiter that decides and the recorders that measure. */
export class RateBook {
  private limiters = new Map<string, SlidingWindowLimiter>();
  private received = new Map<string, PeakRecorder>();
  private acceptedRec = new Map<string, PeakRecorder>();
  private rejected = new Map<string, number>();

  /** Limiter for a key; a changed limit replaces it (fresh window), so /_fake/limits takes effect at once. */
  limiter(key: string, limit: number, windowMs: number): SlidingWindowLimiter {
    const existing = this.limiters.get(key);
    if (existing && existing.limit === limit && existing.windowMs === windowMs) return existing;
    const fresh = new SlidingWindowLimiter(limit, windowMs);
    this.limiters.set(key, fresh);
    return fresh;
  }

  noteReceived(workspace: string, api: RatedApi, now: number): void {
    recorder(this.received, `${workspace}/${api}`).record(now);
  }

  noteOutcome(workspace: string, api: RatedApi, now: number, status: number): void {
    const key = `${workspace}/${api}`;
    if (status === 429) this.rejected.set(key, (this.rejected.get(key) ?? 0) + 1);
    else recorder(this.acceptedRec, key).record(now);
  }

  rates(workspace: string, api: RatedApi): ApiRates {
    const key = `${workspace}/${api}`;
    const received = this.received.get(key);
    const accepted = this.acceptedRec.get(key);
    return {
      peakReceived: received?.peak ?? 0,
      peakAccepted: accepted?.peak ?? 0,
      received: received?.total ?? 0,
      accepted: accepted?.total ?? 0,
      rejected: this.rejected.get(key) ?? 0,
    };
  }
}

function recorder(map: Map<string, PeakRecorder>, key: string): PeakRecorder {
  let r = map.get(key);
  if (!r) {
    r = new PeakRecorder();
    map.set(key, r);
  }
  return r;
}
