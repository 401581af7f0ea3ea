// The demo page learns the fake Customer.io's address from the local Worker, never from a guess.
import { SELF } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { fakeUrl } from './helpers.ts';

describe('GET /v1/local/demo', () => {
  it('names the fake Customer.io this local Worker talks to', async () => {
    const res = await SELF.fetch('https://edge.test/v1/local/demo');
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ fakeCustomerIo: fakeUrl().replace(/\/+$/, '') });
  });
});
