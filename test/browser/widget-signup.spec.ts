/** The sign-up form's edges: the honeypot, an error then a retry with the same event id, overridable texts. */
import { expect, test } from '@playwright/test';
import { edgeReader, recordEvents, signup, uniqueEmail } from './widget-helpers.ts';

test('a bot that fills the honeypot is told "success" and nothing is sent', async ({ page }) => {
  const sent = recordEvents(page);
  await page.goto('/demo/');
  const form = signup(page);
  await form.getByLabel('Email address').fill(uniqueEmail('bot'));
  await form.getByRole('checkbox', { name: /I agree/ }).check();
  await form.locator('input[name="website"]').fill('http://spam.example', { force: true });
  await form.getByRole('button', { name: 'Sign up' }).click();
  await expect(form.getByRole('status')).toContainText('You are in!');
  await page.waitForTimeout(800);
  expect(sent.events().filter((e) => e.type === 'signup')).toEqual([]);
});

test('an edge error shows the error state; the retry reuses the event id and succeeds', async ({ page, request }) => {
  const sent = recordEvents(page);
  let failures = 1;
  await page.route('**/v1/events', (route) => {
    if (failures-- > 0) return route.fulfill({ status: 500, body: '{"error":"Internal error","issues":[]}' });
    return route.continue();
  });
  await page.goto('/demo/');
  const form = signup(page);
  const email = uniqueEmail('retry');
  await form.getByLabel('Email address').fill(email);
  await form.getByRole('checkbox', { name: /I agree/ }).check();
  const button = form.getByRole('button', { name: 'Sign up' });
  await button.click();
  await expect(form.getByRole('status')).toHaveText(/could not sign you up/);
  await expect(button).toBeEnabled();
  await button.click();
  await expect(form.getByRole('status')).toContainText('You are in!');
  const signups = sent.events().filter((e) => e.type === 'signup');
  expect(signups).toHaveLength(2);
  expect(signups[1].id).toBe(signups[0].id);
  await expect.poll(async () => (await edgeReader(request, { email })).body?.known, { timeout: 10_000 }).toBe(true);
});

test('an address the edge refuses is shown as invalid, with focus on the field', async ({ page }) => {
  await page.route('**/v1/events', (route) =>
    route.fulfill({ status: 400, contentType: 'application/json', body: '{"error":"Invalid event batch","issues":[{"path":"events.0.email","message":"Invalid email address"}]}' }));
  await page.goto('/demo/');
  const form = signup(page);
  await form.getByLabel('Email address').fill('someone@example.invalid');
  await form.getByRole('checkbox', { name: /I agree/ }).check();
  await form.getByRole('button', { name: 'Sign up' }).click();
  await expect(form.getByRole('status')).toHaveText(/valid email address/);
  await expect(form.getByLabel('Email address')).toBeFocused();
  await expect(form.getByLabel('Email address')).toHaveAttribute('aria-invalid', 'true');
});
