/**
 * The widget on hostile ground: a page whose global CSS hides and restyles everything, and a page
 * with a strict Content-Security-Policy. Both must still show a working widget that looks like ours.
 */
import { expect, test, type Page } from '@playwright/test';
import { edgeReader, picker, screenshot, signup, uniqueEmail } from './widget-helpers.ts';

/** What the widget's own stylesheet sets, read inside the shadow root. */
async function widgetLooks(page: Page) {
  return page.evaluate(() => {
    const host = document.querySelector('[data-sharpsend="signup"]')!;
    const root = host.shadowRoot!;
    const button = getComputedStyle(root.querySelector('button')!);
    const chip = getComputedStyle(document.querySelector('[data-sharpsend="preferences"]')!.shadowRoot!.querySelector('.chip span')!);
    const box = host.getBoundingClientRect();
    return {
      hostDisplay: getComputedStyle(host).display,
      hostHeight: box.height,
      buttonBackground: button.backgroundColor,
      buttonFont: button.fontFamily,
      chipTransform: chip.textTransform,
      chipColor: chip.color,
      chipSpacing: chip.letterSpacing,
    };
  });
}

async function useWidget(page: Page, request: import('@playwright/test').APIRequestContext) {
  const topics = picker(page);
  await expect(topics.getByRole('checkbox', { name: 'Stocks' })).toBeVisible();
  await topics.getByRole('checkbox', { name: 'Stocks' }).check();
  await expect(topics.getByRole('status')).toHaveText('Saved. You follow Stocks.');

  const form = signup(page);
  await form.getByRole('button', { name: 'Sign up' }).click();
  await expect(form.getByRole('status')).toHaveText(/valid email address/);
  const email = uniqueEmail('hostile');
  await form.getByLabel('Email address').fill(email);
  await form.getByRole('checkbox', { name: /I agree/ }).check();
  await form.getByRole('button', { name: 'Sign up' }).click();
  await expect(form.getByRole('status')).toContainText('You are in!');
  await expect.poll(async () => (await edgeReader(request, { email })).body?.topics, { timeout: 10_000 }).toEqual(['stocks']);
}

test('hostile global CSS cannot hide or restyle the widget', async ({ page, request }) => {
  await page.goto('/demo/hostile.html');
  // The page's CSS really is hostile: its own text is uppercased pink Comic Sans.
  const pageText = await page.evaluate(() => getComputedStyle(document.querySelector('h1')!).textTransform);
  expect(pageText).toBe('uppercase');

  await expect(picker(page).getByRole('checkbox', { name: 'Crypto' })).toBeVisible();
  const looks = await widgetLooks(page);
  expect(looks.hostDisplay).toBe('block');
  expect(looks.hostHeight).toBeGreaterThan(100);
  expect(looks.buttonBackground).toBe('rgb(29, 78, 216)');
  expect(looks.buttonFont).not.toMatch(/Comic/);
  expect(looks.chipTransform).toBe('none');
  expect(looks.chipColor).not.toBe('rgb(255, 0, 170)');
  expect(looks.chipSpacing).toBe('normal');
  await screenshot(page, 'hostile-css');
  await useWidget(page, request);
  await screenshot(page, 'hostile-css-after');
});

test('a strict Content-Security-Policy page runs the widget with no violation', async ({ page, request }) => {
  const violations: string[] = [];
  page.on('console', (msg) => {
    if (/Content.Security.Policy|Refused to/i.test(msg.text())) violations.push(msg.text());
  });
  await page.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (e) => {
      console.error(`Refused to load: CSP ${e.violatedDirective} ${e.blockedURI}`);
    });
  });
  await page.goto('/demo/csp.html');
  await expect(picker(page).getByRole('checkbox', { name: 'Macro' })).toBeVisible();
  const looks = await widgetLooks(page);
  // The widget's stylesheet applied, themed by the page's --sharpsend-accent (demo.css: #0f5c4c).
  expect(looks.buttonBackground).toBe('rgb(15, 92, 76)');
  expect(looks.hostHeight).toBeGreaterThan(100);
  await useWidget(page, request);
  await screenshot(page, 'strict-csp');
  await page.waitForTimeout(300);
  expect(violations).toEqual([]);

  // The policy is in force, and a violation would have been seen: an inline style is refused here.
  const inlineStyleApplied = await page.evaluate(() => {
    const s = document.createElement('style');
    s.textContent = 'body{outline:7px solid rgb(1,2,3)}';
    document.head.append(s);
    return getComputedStyle(document.body).outlineWidth === '7px';
  });
  expect(inlineStyleApplied).toBe(false);
  await expect.poll(() => violations.length).toBeGreaterThan(0);
});
