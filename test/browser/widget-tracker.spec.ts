/** The tracker's own behaviour in a real browser: the command queue, engaged time, SPA reads, what a page event holds. */
import { expect, test } from '@playwright/test';
import { EDGE, captureSent, picker } from './widget-helpers.ts';

/** A send that failed (the Worker restarting, say) is retried with the same id: count events, not sends. */
const distinct = (events: any[]) => [...new Map(events.map((e) => [e.id, e])).values()];

test('commands queued before the script loads run once it has', async ({ page }) => {
  const sent = await captureSent(page);
  await page.addInitScript(() => {
    const w = window as any;
    w.sharpsend = w.sharpsend || function () { (w.sharpsend.q = w.sharpsend.q || []).push(arguments); };
    w.sharpsend('track', 'queued_before_load', { plan: 'free' });
    w.sharpsend('preferences', ['stocks', 'Not A Slug!']);
  });
  await page.goto('/demo/');
  await expect(picker(page).getByRole('checkbox', { name: 'Stocks' })).toBeChecked();
  await expect.poll(async () => distinct(await sent()).map((e) => e.type).sort()).toEqual(['preferences', 'track']);
  const events = await sent();
  expect(events.find((e) => e.type === 'track')).toMatchObject({ name: 'queued_before_load', properties: { plan: 'free' } });
  expect(events.find((e) => e.type === 'preferences')).toMatchObject({ topics: ['stocks'] });
  expect(typeof (await page.evaluate(() => (window as any).sharpsend.q))).toBe('undefined');
});

test('engaged time counts only while the page is visible; a return sends only the new time', async ({ page }) => {
  const sent = await captureSent(page);
  await page.addInitScript(() => {
    const w = window as any;
    w.__visible = true;
    Object.defineProperty(Document.prototype, 'visibilityState', { get: () => (w.__visible ? 'visible' : 'hidden'), configurable: true });
    w.__show = (v: boolean) => {
      w.__visible = v;
      document.dispatchEvent(new Event('visibilitychange'));
    };
  });
  await page.goto('/demo/');
  await page.waitForTimeout(1000);
  await page.evaluate(() => (window as any).__show(false));
  await page.waitForTimeout(2500); // hidden: must not count
  await page.evaluate(() => (window as any).__show(true));
  await page.waitForTimeout(1500);
  await page.evaluate(() => (window as any).__show(false));
  await expect.poll(async () => distinct(await sent()).filter((e) => e.type === 'page').length).toBe(2);
  const [first, more] = distinct(await sent()).filter((e) => e.type === 'page');
  expect(first.engagedMs).toBeGreaterThanOrEqual(900);
  expect(first.engagedMs).toBeLessThan(2000);
  expect(more.engagedMs).toBeGreaterThanOrEqual(1400);
  expect(more.engagedMs).toBeLessThan(2400); // 4 s in all, of which 2.5 s hidden
  expect(more.id).not.toBe(first.id);
  expect(first).toMatchObject({ url: `${EDGE}/demo/`, category: 'crypto', title: expect.stringContaining("Bitcoin's quiet quarter") });
  expect(first.scrollDepth).toBeGreaterThan(0);
  expect(first.scrollDepth).toBeLessThan(0.6);
});

test('history navigation on a single-page site ends one read and starts the next', async ({ page }) => {
  const sent = await captureSent(page);
  await page.goto('/demo/');
  await page.mouse.wheel(0, 100_000);
  await page.waitForTimeout(1100);
  await page.evaluate(() => history.pushState({}, '', '/demo/?story=2'));
  await page.waitForTimeout(1100);
  await page.evaluate(() => history.pushState({}, '', '/demo/?story=2#comments')); // same page: no new read
  await page.evaluate(() => history.back()); // popstate to ?story=2 (same document, hash only)
  await page.waitForTimeout(300);
  await page.evaluate(() => history.back()); // popstate back to /demo/: ends the ?story=2 read
  const pageEvents = async () => distinct(await sent()).filter((e) => e.type === 'page');
  await expect.poll(async () => (await pageEvents()).length, { timeout: 5_000 }).toBeGreaterThanOrEqual(2);
  await page.waitForTimeout(300); // and no third one follows
  const pages = await pageEvents();
  expect(pages.map((e) => `${e.url} ${e.engagedMs}ms`)).toHaveLength(2);
  const [one, two] = pages;
  expect(one.url).toBe(`${EDGE}/demo/`);
  expect(one.scrollDepth).toBe(1);
  expect(two.url).toBe(`${EDGE}/demo/?story=2`);
  expect(two.engagedMs).toBeGreaterThanOrEqual(1000);
  expect(new Set([one.id, two.id]).size).toBe(2);
  expect(one.anonymousId).toBe(two.anonymousId);
});

test('a page that is read and left loads no chunk; the first send that needs an answer loads the network chunk, once', async ({ page }) => {
  await page.route(`${EDGE}/plain-page.html*`, (route) =>
    route.fulfill({
      contentType: 'text/html',
      body: `<!doctype html><html><head><title>Plain page</title></head><body><p>Text, no placeholder.</p>` +
        `<script async src="/sharpsend.js" data-workspace="demo"></script></body></html>`,
    }),
  );
  // Which way each batch left: the beacon (the common path) or fetch (the network chunk's).
  await page.addInitScript(() => {
    const keep = (via: string, body: unknown) => {
      const all = JSON.parse(localStorage.getItem('test:via') || '[]');
      localStorage.setItem('test:via', JSON.stringify(all.concat(JSON.parse(String(body)).events.map((e: any) => `${via}:${e.type}:${e.name || ''}`))));
    };
    const beacon = navigator.sendBeacon.bind(navigator);
    navigator.sendBeacon = (url, data) => (keep('beacon', data), beacon(url, data));
    const fetch0 = window.fetch;
    window.fetch = (input, init) => (String(input).includes('/v1/events') && keep('fetch', init?.body), fetch0(input, init));
  });
  const via = async (): Promise<string[]> => JSON.parse(await page.evaluate(() => localStorage.getItem('test:via') || '[]'));
  const scripts: string[] = [];
  page.on('request', (r) => r.resourceType() === 'script' && scripts.push(new URL(r.url()).pathname));

  await page.goto(`${EDGE}/plain-page.html`);
  await page.waitForTimeout(1200);
  await page.goto(`${EDGE}/plain-page.html?next`); // left: its read goes by beacon
  await expect.poll(via).toEqual(['beacon:page:']);
  expect(scripts.filter((s) => s != '/sharpsend.js')).toEqual([]);

  await page.evaluate(() => (window as any).sharpsend('track', 'first'));
  await expect.poll(via).toEqual(['beacon:page:', 'fetch:track:first']);
  await page.waitForTimeout(1100);
  await page.evaluate(() => history.pushState({}, '', '/plain-page.html?story=2')); // a SPA read, sent by fetch
  await page.evaluate(() => (window as any).sharpsend('track', 'second'));
  await expect.poll(via).toEqual(['beacon:page:', 'fetch:track:first', 'fetch:page:', 'fetch:track:second']);
  expect(scripts.filter((s) => s == '/sharpsend-net.js')).toHaveLength(1);
  expect(scripts).not.toContain('/sharpsend-ui.js');
});
