// The network chunk's sending rules (widget/src/embed/send.ts), with fetch replaced: what is
// left out, when a batch is settled, and that a refusal is warned about once.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { post } from '../../widget/src/embed/send.ts';

const o = { endpoint: 'https://edge.test/v1/events', workspace: 'demo' };
const ev = (id: string) => ({ type: 'track' as const, name: 'x', id, anonymousId: 'aaaaaaaa', ts: 1 });

function answer(status: number | 'down') {
  const calls: { url: string; body: { workspace: string; events: { id: string }[] } }[] = [];
  vi.stubGlobal('fetch', async (url: string, init: RequestInit) => {
    calls.push({ url, body: JSON.parse(init.body as string) });
    if (status == 'down') throw new TypeError('Failed to fetch');
    return new Response('{"error":"bad"}', { status });
  });
  return calls;
}

afterEach(() => {
  vi.unstubAllGlobals();
  vi.restoreAllMocks();
});

describe('network chunk post', () => {
  it('settles a taken batch and frees its ids', async () => {
    const calls = answer(202);
    const settled: string[][] = [];
    const inFlight = new Set<string>();
    const res = await post(o, [ev('a1234567'), ev('b1234567')], (sent) => settled.push(sent.map((e) => e.id)), inFlight);
    expect(res?.status).toBe(202);
    expect(calls).toEqual([{ url: o.endpoint, body: { workspace: 'demo', events: [ev('a1234567'), ev('b1234567')] } }]);
    expect(settled).toEqual([['a1234567', 'b1234567']]);
    expect(inFlight.size).toBe(0);
  });

  it('leaves out events already in a request, and sends nothing when all are', async () => {
    const calls = answer(202);
    const inFlight = new Set(['a1234567']);
    await post(o, [ev('a1234567'), ev('b1234567')], () => {}, inFlight);
    expect(calls.map((c) => c.body.events.map((e) => e.id))).toEqual([['b1234567']]);
    expect(post(o, [ev('a1234567')], () => {}, inFlight)).toBeNull();
    expect(calls).toHaveLength(1);
  });

  it('marks the batch in flight until the answer', async () => {
    answer(202);
    const inFlight = new Set<string>();
    const sending = post(o, [ev('a1234567')], () => {}, inFlight);
    expect([...inFlight]).toEqual(['a1234567']);
    await sending;
    expect(inFlight.size).toBe(0);
  });

  it('keeps a batch for another try after a 5xx, a 429 or no answer', async () => {
    for (const status of [503, 429, 'down'] as const) {
      answer(status);
      const settle = vi.fn();
      const inFlight = new Set<string>();
      const res = await post(o, [ev('a1234567')], settle, inFlight);
      expect(res?.status).toBe(status == 'down' ? undefined : status);
      expect(settle).not.toHaveBeenCalled();
      expect(inFlight.size).toBe(0);
    }
  });

  it('drops a refused batch with one warning naming the answer', async () => {
    answer(400);
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    const settle = vi.fn();
    await post(o, [ev('a1234567')], settle, new Set());
    expect(settle).toHaveBeenCalledWith([ev('a1234567')]);
    await vi.waitFor(() => expect(warn).toHaveBeenCalledWith('SharpSend:', 400, '{"error":"bad"}'));
    expect(warn).toHaveBeenCalledTimes(1);
  });

  it('hands a one-off request (sign-up, grant) its answer without settling or warning', async () => {
    answer(400);
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    const res = await post(o, [ev('a1234567')]);
    expect(res?.status).toBe(400);
    await new Promise((r) => setTimeout(r, 10));
    expect(warn).not.toHaveBeenCalled();
  });
});
