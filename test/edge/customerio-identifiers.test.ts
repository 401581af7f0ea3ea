// A Customer.io workspace that does not take email as an identifier (older workspaces are id-only):
// the edge finds out on the first refusal (or in the connection check), remembers it, and names
// email-only readers by the documented id `email:<address>` from then on. Nothing is dead-lettered.
import { SELF } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { ADMIN, createWorkspace, eventId, eventually, fake, page, postEvents, resetFake } from './helpers.ts';

const ID_ONLY = { siteId: 'idonly_site', trackKey: 'idonly_track_key', appKey: 'idonly_app_key' };
const admin = async (path: string, method = 'GET') =>
  (await (await SELF.fetch(`https://edge.test/v1/admin/workspaces${path}`, { method, headers: ADMIN })).json()) as any;

describe('id-only Customer.io workspaces', () => {
  it('a widget sign-up reaches Customer.io as id "email:<address>" after the first refusal, and the workspace remembers', async () => {
    await resetFake();
    const ws = await createWorkspace({ customerio: ID_ONLY });
    expect((await admin(`/${ws.id}`)).identifierMode).toBe('email_or_id');
    const anon = 'anon-idonly-00001';
    await postEvents({ workspace: ws.id, events: [page(anon), { id: eventId(), type: 'signup', anonymousId: anon, ts: Date.now(), email: 'Only.Id@Example.com', topics: [], consent: true }] });
    const person = await eventually(async () => ((await fake('/people?workspace=idonly')).people as any[])
      .find((p) => p.id === 'email:only.id@example.com' && p.attributes.sharpsend_reads === 1), 20_000, 'person by id in the fake');
    expect(person.id).toBe('email:only.id@example.com');
    expect(person.attributes.sharpsend_reads).toBe(1);
    const view = await admin(`/${ws.id}`);
    expect(view.identifierMode).toBe('id_only');
    const stats = await admin(`/${ws.id}/sync`);
    expect(stats.deadLetters).toBe(0);
    // Every later call names people by id: no email identifier is sent again.
    const batches = ((await fake('/requests?workspace=idonly&api=track')).requests as any[]).filter((r) => r.path === '/api/v2/batch');
    const last = batches.at(-1)!.body.batch as any[];
    expect(last.every((op) => op.identifiers?.id !== undefined)).toBe(true);
  });

  it('the connection check finds out before any sync, and says so', async () => {
    await resetFake();
    const ws = await createWorkspace({ customerio: ID_ONLY });
    const report = await admin(`/${ws.id}/check`, 'POST');
    const line = report.checks.find((c: any) => c.id === 'identifiers');
    expect(line).toMatchObject({ ok: true });
    expect(line.detail).toMatch(/email is not an identifier/);
    const view = await admin(`/${ws.id}`);
    expect(view.identifierMode).toBe('id_only');
    // The probe created nobody in Customer.io.
    expect((await fake('/people?workspace=idonly')).people).toEqual([]);
  });

  it('an email workspace passes the identifiers line and keeps email', async () => {
    await resetFake();
    const ws = await createWorkspace();
    const line = (await admin(`/${ws.id}/check`, 'POST')).checks.find((c: any) => c.id === 'identifiers');
    expect(line).toMatchObject({ ok: true });
    expect(line.detail).toMatch(/email is an identifier/);
    expect((await fake('/people?workspace=demo')).people.filter((p: any) => String(p.email ?? '').includes('sharpsend-probe'))).toEqual([]);
  });
});
