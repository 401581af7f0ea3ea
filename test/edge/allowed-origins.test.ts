// Allowed origins as a publisher writes them: a subdomain wildcard and a trailing slash.
import { SELF } from 'cloudflare:test';
import { beforeAll, describe, expect, it } from 'vitest';
import { ADMIN, createWorkspace, page, postEvents } from './helpers.ts';

describe('allowed origins', () => {
  let ws: string;
  beforeAll(async () => {
    ws = (await createWorkspace({ allowedOrigins: ['https://*.example.com', 'https://partner.example.org/'] })).id;
  });

  const batch = () => ({ workspace: ws, events: [page(`anon-${crypto.randomUUID()}`)] });

  it('stores the entries normalised', async () => {
    const res = await SELF.fetch(`https://edge.test/v1/admin/workspaces/${ws}`, { headers: ADMIN });
    expect(((await res.json()) as { allowedOrigins: string[] }).allowedOrigins).toEqual(['https://*.example.com', 'https://partner.example.org']);
  });

  it('takes events from any subdomain of a wildcard entry and from an entry given with a slash', async () => {
    for (const origin of ['https://news.example.com', 'https://a.b.example.com', 'https://partner.example.org']) {
      const res = await postEvents(batch(), { origin });
      expect(res.status, origin).toBe(202);
    }
  });

  it('refuses the bare apex of a wildcard and look-alike hosts with 403', async () => {
    for (const origin of ['https://example.com', 'https://evilexample.com', 'http://news.example.com']) {
      const res = await postEvents(batch(), { origin });
      expect(res.status, origin).toBe(403);
    }
  });

  it('answers a preflight for a wildcard subdomain', async () => {
    const res = await SELF.fetch(`https://edge.test/v1/events?workspace=${ws}`, { method: 'OPTIONS', headers: { origin: 'https://x.example.com', 'access-control-request-method': 'POST' } });
    expect(res.status).toBe(204);
    expect(res.headers.get('access-control-allow-origin')).toBe('https://x.example.com');
  });
});
