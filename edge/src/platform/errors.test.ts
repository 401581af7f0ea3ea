import { describe, expect, it } from 'vitest';
import { ClientError, readJson } from './errors.ts';

const post = (body: string) => new Request('https://edge.test/', { method: 'POST', body });

describe('readJson', () => {
  it('counts bytes, not characters: multi-byte text over the limit is a 413', async () => {
    const body = JSON.stringify({ s: 'é'.repeat(60) }); // 68 characters, 128 bytes
    const error = (await readJson(post(body), 100).catch((e: ClientError) => e)) as ClientError;
    expect(error).toBeInstanceOf(ClientError);
    expect(error.status).toBe(413);
  });

  it('takes a body at the limit exactly, and one whose characters could not exceed it', async () => {
    const exact = JSON.stringify({ s: 'é'.repeat(46) }); // 100 bytes
    expect(await readJson(post(exact), 100)).toEqual({ s: 'é'.repeat(46) });
    expect(await readJson(post('{"a":1}'), 21)).toEqual({ a: 1 });
  });

  it('names the body when it is empty or not JSON', async () => {
    for (const body of ['', '  ', '{']) {
      const error = (await readJson(post(body), 100).catch((e: ClientError) => e)) as ClientError;
      expect(error.status).toBe(400);
      expect(error.issues[0]?.path).toBe('(body)');
    }
  });
});
