/**
 * The outbox: events made while the edge cannot be reached wait in storage and arrive once, when
 * the browser is back online or on the next page; a refusal (4xx) is dropped, not retried forever.
 */
import { expect, test } from '@playwright/test';
import { anonymousId, edgeReader, picker, recordEvents } from './widget-helpers.ts';

const queued = (page: import('@playwright/test').Page): Promise<any[]> =>
  page.evaluate(() => JSON.parse(localStorage.getItem('sharpsend:queue') || '[]'));

test('offline then online: the queued events arrive once', async ({ page, context, request }) => {
  const sent = recordEvents(page);
  await page.goto('/demo/');
  await expect(picker(page).getByRole('checkbox', { name: 'Options & derivatives' })).toBeVisible();
  await page.mouse.wheel(0, 1500);
  await page.waitForTimeout(1500);

  await context.setOffline(true);
  await picker(page).getByRole('checkbox', { name: 'Options & derivatives' }).check();
  await page.evaluate(() => (window as any).sharpsend('track', 'offline_event', { n: 1 }));
  await page.evaluate(() => (window as any).sharpsend('page')); // ends this read: a page event
  await page.waitForTimeout(1000);
  const waiting = await queued(page);
  expect(waiting.map((e) => e.type).sort()).toEqual(['page', 'preferences', 'track']);
  expect(sent.requests).toHaveLength(0); // nothing was even tried while offline
  const ids = waiting.map((e) => e.id);
  const aid = await anonymousId(page);

  await context.setOffline(false);
  await expect.poll(() => queued(page)).toEqual([]);
  // A reload flushes the outbox again: nothing is left to send twice.
  await page.reload();
  await page.waitForTimeout(1000);
  for (const id of ids) expect(sent.events().filter((e) => e.id === id)).toHaveLength(1);

  // Two page events for the same article (the one ended offline, the one the reload ended by
  // beacon): within 30 minutes the edge counts them as one read with both times added.
  const offlineRead = waiting.find((e) => e.type === 'page');
  await expect.poll(async () => (await edgeReader(request, { anonymousId: aid! })).body?.counters?.['engaged_ms.crypto'] ?? 0, { timeout: 10_000 })
    .toBeGreaterThan(offlineRead.engagedMs);
  const reader = (await edgeReader(request, { anonymousId: aid! })).body;
  expect(reader.counters['reads.crypto']).toBe(1);
  expect(reader.topics).toEqual(['options']);
  expect(reader.counters.picks).toBe(1);
});

test('a failed send (5xx) stays queued and is delivered by the next page, once', async ({ page, request }) => {
  const sent = recordEvents(page);
  let refused = 0;
  await page.route('**/v1/events', (route) => {
    refused++;
    return route.fulfill({ status: 503, body: '{"error":"down for a moment"}' });
  });
  await page.goto('/demo/');
  await picker(page).getByRole('checkbox', { name: 'Macro' }).check();
  await expect.poll(() => refused).toBe(1);
  const [event] = await queued(page);
  expect(event).toMatchObject({ type: 'preferences', topics: ['macro'] });
  const aid = await anonymousId(page);

  await page.unroute('**/v1/events');
  await page.goto('/demo/stocks.html'); // the retry goes with the read's beacon on leaving, or from the next page
  await expect.poll(() => queued(page)).toEqual([]);
  expect(sent.events().filter((e) => e.id === event.id).length).toBeGreaterThanOrEqual(1);
  // Delivered, and counted once.
  await expect.poll(async () => (await edgeReader(request, { anonymousId: aid! })).body?.topics, { timeout: 10_000 }).toEqual(['macro']);
  expect((await edgeReader(request, { anonymousId: aid! })).body.counters.picks).toBe(1);
});

test('a refused batch (4xx) is dropped with one warning, not retried', async ({ page }) => {
  const warnings: string[] = [];
  page.on('console', (m) => m.type() === 'warning' && m.text().includes('SharpSend') && warnings.push(m.text()));
  let calls = 0;
  await page.route('**/v1/events', (route) => {
    calls++;
    return route.fulfill({ status: 400, contentType: 'application/json', body: '{"error":"Invalid event batch","issues":[{"path":"events.0.topics","message":"bad"}]}' });
  });
  await page.goto('/demo/');
  await picker(page).getByRole('checkbox', { name: 'Crypto' }).check();
  await expect.poll(() => warnings.length).toBe(1);
  expect(warnings[0]).toContain('Invalid event batch');
  expect(await queued(page)).toEqual([]);
  await page.reload();
  await page.waitForTimeout(1000);
  expect(calls).toBe(1);
});
