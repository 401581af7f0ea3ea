import { describe, expect, it } from 'vitest';
import { eventually, fake, page, postEvents, resetFake } from './helpers.ts';
import { EDITOR_KEY, panelApi, signIn } from './panel-helpers.ts';
import { QUICK_SYNC, createWorkspace } from './helpers.ts';
import { manualSendQueue } from './send-queue-clock.ts';

interface Delivery { to: string; transactional_message_id?: unknown; transactionalMessageId?: unknown; body: Record<string, any> }

describe('transactional welcome', () => {
  it('sends the workspace welcome once after a widget sign-up syncs, retrying a 5xx', async () => {
    await resetFake();
    // QUICK_SYNC: the later read below is a quiet change, which would otherwise wait a minute.
    const ws = await createWorkspace({ ...QUICK_SYNC, editorKey: EDITOR_KEY, welcomeMessageId: 7 });
    const queue = await manualSendQueue(ws.id);
    await fake('/failures', { body: { status: 503, count: 1, api: 'app', path: '/v1/send/email' } });
    const anon = 'anon-welcome-0001';
    const signup = { id: 'signup-welcome-0001', type: 'signup', anonymousId: anon, ts: Date.now(), email: 'Welcome@Example.com', consent: true, topics: ['crypto'] };
    expect((await postEvents({ workspace: ws.id, events: [page(anon), signup] })).status).toBe(202);
    // A replayed sign-up (a retried beacon) changes nothing.
    await postEvents({ workspace: ws.id, events: [signup] });

    // The sign-up reaches the send queue once it has synced (the outbox and the directory run on real
    // time); from there the queue's clock and alarm are the test's.
    await eventually(async () => (await queue.stub.welcomes()).length > 0, 30_000, 'the welcome queued');
    const attemptAt = queue.clock.now();
    await queue.runAlarm();
    const [retrying] = await queue.stub.welcomes();
    expect(retrying).toMatchObject({ status: 'retrying', attempts: 1, deliveryId: null });
    expect(retrying!.error).toMatch(/^503/);
    const retryAt = (await queue.alarmAt())!;
    expect(retryAt - attemptAt).toBeGreaterThanOrEqual(500); // backoff: 0.5-1 s for the first retry
    expect(retryAt - attemptAt).toBeLessThanOrEqual(1000);
    queue.clock.set(retryAt - 1);
    await queue.runAlarm();
    expect((await fake<{ deliveries: Delivery[] }>('/deliveries?workspace=demo')).deliveries).toHaveLength(0);
    queue.clock.advance(1);
    await queue.runAlarm();

    const { deliveries } = await fake<{ deliveries: Delivery[] }>('/deliveries?workspace=demo');
    expect(deliveries).toHaveLength(1);
    expect(deliveries[0]!.body).toMatchObject({ transactional_message_id: 7, to: 'welcome@example.com', identifiers: { email: 'welcome@example.com' } });
    expect(deliveries[0]!.body.message_data.topics).toEqual(['crypto']);

    const s = await signIn(ws.id);
    const { body } = await panelApi(s, 'GET', `/workspaces/${ws.id}/welcomes`);
    expect(body.welcomes).toEqual([expect.objectContaining({ email: 'welcome@example.com', status: 'sent', attempts: 2 })]);
    expect(body.welcomes[0].error).toBeNull();

    // More syncs of the same reader (a later read) send no second welcome; nor does the queue, asked again.
    await postEvents({ workspace: ws.id, events: [page(anon, { url: 'https://news.example.com/a/2' })] });
    const reader = await eventually(async () => {
      const { body: list } = await panelApi(s, 'GET', `/workspaces/${ws.id}/readers?q=welcome@example.com`);
      return list.readers[0]?.counters.reads === 2 ? (list.readers[0] as { key: string }) : undefined;
    }, 30_000, 'the later read in the directory');
    await queue.stub.enqueueWelcomes(ws.id, 7, [{ key: reader.key, email: 'welcome@example.com', data: {} }]);
    queue.clock.advance(60_000);
    await queue.runAlarm();
    expect(await queue.alarmAt()).toBeNull();
    expect(await queue.stub.welcomes()).toHaveLength(1);
    expect((await fake<{ deliveries: Delivery[] }>('/deliveries?workspace=demo')).deliveries).toHaveLength(1);
  });

  it('sends nothing when the workspace has no welcome message', async () => {
    await resetFake();
    const ws = await createWorkspace({ editorKey: EDITOR_KEY });
    const queue = await manualSendQueue(ws.id);
    const anon = 'anon-welcome-0002';
    await postEvents({ workspace: ws.id, events: [{ id: 'signup-welcome-0002', type: 'signup', anonymousId: anon, ts: Date.now(), email: 'nowelcome@example.com', consent: true }] });
    await eventually(async () => (await fake<{ people: Array<{ email: string }> }>('/people?workspace=demo')).people.some((p) => p.email === 'nowelcome@example.com'), 20_000, 'the person');
    // The directory has the reader (so it has decided about a welcome): the queue holds none and has no alarm.
    const s = await signIn(ws.id);
    await eventually(async () => (await panelApi(s, 'GET', `/workspaces/${ws.id}/readers?q=nowelcome@example.com`)).body.readers.length > 0, 20_000, 'the reader in the directory');
    expect(await queue.stub.welcomes()).toEqual([]);
    expect(await queue.runAlarm()).toBe(false);
    expect((await fake<{ deliveries: Delivery[] }>('/deliveries?workspace=demo')).deliveries).toHaveLength(0);
  });
});
