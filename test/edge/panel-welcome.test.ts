import { describe, expect, it } from 'vitest';
import { eventually, fake, page, postEvents, resetFake } from './helpers.ts';
import { EDITOR_KEY, panelApi, signIn } from './panel-helpers.ts';
import { createWorkspace } from './helpers.ts';

interface Delivery { to: string; transactional_message_id?: unknown; transactionalMessageId?: unknown; body: Record<string, any> }

describe('transactional welcome', () => {
  it('sends the workspace welcome once after a widget sign-up syncs, retrying a 5xx', async () => {
    await resetFake();
    const ws = await createWorkspace({ editorKey: EDITOR_KEY, welcomeMessageId: 7 });
    await fake('/failures', { body: { status: 503, count: 1, api: 'app' } });
    const anon = 'anon-welcome-0001';
    const signup = { id: 'signup-welcome-0001', type: 'signup', anonymousId: anon, ts: Date.now(), email: 'Welcome@Example.com', consent: true, topics: ['crypto'] };
    expect((await postEvents({ workspace: ws.id, events: [page(anon), signup] })).status).toBe(202);
    // A replayed sign-up (a retried beacon) changes nothing.
    await postEvents({ workspace: ws.id, events: [signup] });

    const deliveries = await eventually(async () => {
      const { deliveries } = await fake<{ deliveries: Delivery[] }>('/deliveries?workspace=demo');
      return deliveries.length ? deliveries : undefined;
    }, 30_000, 'the welcome delivery');
    expect(deliveries).toHaveLength(1);
    expect(deliveries[0]!.body).toMatchObject({ transactional_message_id: 7, to: 'welcome@example.com', identifiers: { email: 'welcome@example.com' } });
    expect(deliveries[0]!.body.message_data.topics).toEqual(['crypto']);

    const s = await signIn(ws.id);
    const { body } = await panelApi(s, 'GET', `/workspaces/${ws.id}/welcomes`);
    expect(body.welcomes).toEqual([expect.objectContaining({ email: 'welcome@example.com', status: 'sent', attempts: 2 })]);
    expect(body.welcomes[0].error).toBeNull();

    // More syncs of the same reader (a later read) send no second welcome.
    await postEvents({ workspace: ws.id, events: [page(anon, { url: 'https://news.example.com/a/2' })] });
    await new Promise((r) => setTimeout(r, 2500));
    expect((await fake<{ deliveries: Delivery[] }>('/deliveries?workspace=demo')).deliveries).toHaveLength(1);
  });

  it('sends nothing when the workspace has no welcome message', async () => {
    await resetFake();
    const ws = await createWorkspace({ editorKey: EDITOR_KEY });
    const anon = 'anon-welcome-0002';
    await postEvents({ workspace: ws.id, events: [{ id: 'signup-welcome-0002', type: 'signup', anonymousId: anon, ts: Date.now(), email: 'nowelcome@example.com', consent: true }] });
    await eventually(async () => (await fake<{ people: Array<{ email: string }> }>('/people?workspace=demo')).people.some((p) => p.email === 'nowelcome@example.com'), 20_000, 'the person');
    await new Promise((r) => setTimeout(r, 1500));
    expect((await fake<{ deliveries: Delivery[] }>('/deliveries?workspace=demo')).deliveries).toHaveLength(0);
  });
});
