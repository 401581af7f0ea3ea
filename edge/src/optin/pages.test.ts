import { describe, expect, it } from 'vitest';
import { CONFIRM_PAGE_HEADERS, confirmPage } from './pages.ts';

describe('confirm link pages', () => {
  it('answers each outcome with its own status and a plain page, never a server error for the reader\'s doing', () => {
    expect(confirmPage('confirmed').status).toBe(200);
    expect(confirmPage('already').status).toBe(200);
    expect(confirmPage('invalid').status).toBe(400);
    expect(confirmPage('expired').status).toBe(410);
    expect(confirmPage('confirmed').html).toContain("<h1>You're confirmed</h1>");
    expect(confirmPage('expired').html).toContain('<h1>This link is no longer valid</h1>');
  });

  it('has no script and loads nothing (the CSP forbids both)', () => {
    for (const page of ['confirmed', 'already', 'invalid', 'expired', 'unavailable'] as const) {
      expect(confirmPage(page).html).not.toMatch(/<script|<link|<img|src=|href=/i);
    }
    expect(CONFIRM_PAGE_HEADERS['content-security-policy']).toBe("default-src 'none'; style-src 'unsafe-inline'");
    expect(CONFIRM_PAGE_HEADERS['referrer-policy']).toBe('no-referrer');
  });
});
