import { describe, expect, it, vi } from 'vitest';
import { afterResponse } from './after-response.ts';

describe('afterResponse', () => {
  it('starts the work only after the current turn, so the answer goes out before any of it runs', async () => {
    const work = vi.fn(async () => 'done');
    const waited: Promise<unknown>[] = [];
    afterResponse({ waitUntil: (p) => waited.push(p) }, work);
    expect(waited).toHaveLength(1);
    // Every microtask of this turn (where a route's own awaits and the answer's hand-over run) first.
    for (let i = 0; i < 50; i++) await Promise.resolve();
    expect(work).not.toHaveBeenCalled();
    await waited[0];
    expect(work).toHaveBeenCalledTimes(1);
  });

  it('logs a failure instead of rejecting waitUntil', async () => {
    const error = vi.spyOn(console, 'error').mockImplementation(() => {});
    const waited: Promise<unknown>[] = [];
    afterResponse({ waitUntil: (p) => waited.push(p) }, async () => { throw new Error('boom'); });
    await expect(waited[0]).resolves.toBeUndefined();
    expect(error).toHaveBeenCalledWith('recording an email hit failed:', expect.objectContaining({ message: 'boom' }));
    error.mockRestore();
  });

  it('runs at once without an execution context', async () => {
    const work = vi.fn(async () => undefined);
    afterResponse(undefined, work);
    await Promise.resolve();
    expect(work).toHaveBeenCalledTimes(1);
  });
});
