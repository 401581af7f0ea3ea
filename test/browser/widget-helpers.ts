/** Shared by the widget's browser tests: what the edge and the fake Customer.io hold, and widget locators. */
import { expect, type APIRequestContext, type Page, type Request } from '@playwright/test';
import { EDGE_PORT, FAKE_CIO_PORT } from '../../playwright.config.ts';

export const EDGE = `http://127.0.0.1:${EDGE_PORT}`;
export const FAKE = `http://127.0.0.1:${FAKE_CIO_PORT}`;
const SECRET = 'ss_sk_demo_localdemosecret';

export const uniqueEmail = (what: string) => `${what}-${Date.now()}-${Math.floor(Math.random() * 1e6)}@example.com`;

export async function edgeReader(request: APIRequestContext, query: Record<string, string>) {
  const res = await request.get(`${EDGE}/v1/server/reader?${new URLSearchParams(query)}`, {
    headers: { authorization: `Bearer ${SECRET}` },
  });
  return { status: res.status(), body: res.ok() ? await res.json() : await res.text() };
}

export async function fakePeople(request: APIRequestContext): Promise<any[]> {
  const res = await request.get(`${FAKE}/_fake/people?workspace=demo`);
  expect(res.ok()).toBe(true);
  const body = await res.json();
  return Array.isArray(body) ? body : body.people;
}

export async function fakeRequests(request: APIRequestContext): Promise<any[]> {
  const res = await request.get(`${FAKE}/_fake/requests`);
  expect(res.ok()).toBe(true);
  return (await res.json()).requests;
}

export const anonymousId = (page: Page): Promise<string | null> =>
  page.evaluate(() => JSON.parse(localStorage.getItem('sharpsend:aid') || 'null'));

/** Events the page posted while alive (fetches; beacons on pagehide are not reported by Playwright). */
export function recordEvents(page: Page): { requests: Request[]; events: () => any[] } {
  const requests: Request[] = [];
  page.on('request', (req) => {
    if (req.url().endsWith('/v1/events') && req.method() === 'POST') requests.push(req);
  });
  return { requests, events: () => requests.flatMap((r) => JSON.parse(r.postData() || '{}').events ?? []) };
}

export const picker = (page: Page) => page.locator('[data-sharpsend="preferences"]');
export const signup = (page: Page) => page.locator('[data-sharpsend="signup"]');

export async function screenshot(page: Page, name: string, fullPage = true) {
  await page.screenshot({ path: `test-results/screenshots/${name}.png`, fullPage });
}

/** Scrolls like a reader, in steps, to the bottom. */
export async function readToBottom(page: Page, pauseMs = 200) {
  for (let i = 0; i < 12; i++) {
    await page.mouse.wheel(0, 600);
    await page.waitForTimeout(pauseMs);
  }
}

/**
 * Counts, in localStorage, every beacon and fetch the page makes to /v1/events, including the
 * beacon sent while the page unloads (which Playwright does not report). Install before goto.
 */
export async function countSends(page: Page) {
  await page.addInitScript(() => {
    const bump = (url: unknown) => {
      if (String(url).includes('/v1/events')) localStorage.setItem('test:sends', String(Number(localStorage.getItem('test:sends') || 0) + 1));
    };
    const beacon = navigator.sendBeacon.bind(navigator);
    navigator.sendBeacon = (url, data) => (bump(url), beacon(url, data));
    const fetch0 = window.fetch;
    window.fetch = (input, init) => (bump(input), fetch0(input, init));
  });
  return async () => Number(await page.evaluate(() => localStorage.getItem('test:sends') || 0));
}

/** Presses Tab until the focused element (through shadow roots) matches, and returns how many presses it took. */
export async function tabTo(page: Page, describe: string, max = 60, key = 'Tab'): Promise<number> {
  for (let i = 1; i <= max; i++) {
    await page.keyboard.press(key);
    const focused = await page.evaluate(() => {
      let el: Element | null = document.activeElement;
      while (el?.shadowRoot?.activeElement) el = el.shadowRoot.activeElement;
      if (!el) return '';
      const label = el.closest('label')?.textContent?.trim() || el.getAttribute('aria-label') || el.textContent?.trim() || '';
      return `${el.tagName.toLowerCase()}[${(el as HTMLInputElement).type || ''}] ${label}`;
    });
    if (focused.includes(describe)) return i;
  }
  throw new Error(`Tab never reached "${describe}"`);
}

/** Like countSends, but keeps every event sent (beacon or fetch) in localStorage, unload included. */
export async function captureSent(page: Page) {
  await page.addInitScript(() => {
    const keep = (url: unknown, body: unknown) => {
      if (!String(url).includes('/v1/events') || typeof body !== 'string') return;
      const all = JSON.parse(localStorage.getItem('test:sent') || '[]');
      localStorage.setItem('test:sent', JSON.stringify(all.concat(JSON.parse(body).events)));
    };
    const beacon = navigator.sendBeacon.bind(navigator);
    navigator.sendBeacon = (url, data) => (keep(url, data), beacon(url, data));
    const fetch0 = window.fetch;
    window.fetch = (input, init) => (keep(input, init?.body), fetch0(input, init));
  });
  return async (): Promise<any[]> => JSON.parse(await page.evaluate(() => localStorage.getItem('test:sent') || '[]'));
}

/** A known reader's email token, once the sync has written it to the fake Customer.io (what a template reads). */
export async function syncedToken(request: APIRequestContext, email: string): Promise<string> {
  let token = '';
  await expect.poll(async () => {
    const res = await request.get(`${FAKE}/_fake/people/demo/${encodeURIComponent(email)}`);
    token = res.ok() ? ((await res.json()).attributes?.sharpsend_ptoken ?? '') : '';
    return token;
  }, { timeout: 20_000 }).toMatch(/^k\d+\./);
  return token;
}
