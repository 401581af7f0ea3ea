/**
 * The plain pages a confirm link answers with (README "Double opt-in"): a few lines of HTML, no
 * script, no outside resource, nothing about the reader. Every outcome is a page a person can read,
 * never a JSON error: the link is opened from an email, in a browser. Pure.
 */
export type ConfirmPage = 'confirmed' | 'already' | 'invalid' | 'expired' | 'unavailable';

const PAGES: Record<ConfirmPage, { status: 200 | 400 | 410 | 503; title: string; text: string }> = {
  confirmed: { status: 200, title: "You're confirmed", text: 'Thank you: your subscription is confirmed. You can close this page.' },
  already: { status: 200, title: 'Already confirmed', text: 'This subscription was confirmed already. Nothing more to do.' },
  invalid: { status: 400, title: 'This link is no longer valid', text: 'This confirmation link is not valid. Sign up again to get a new one.' },
  expired: { status: 410, title: 'This link is no longer valid', text: 'This confirmation link has expired. Sign up again to get a new one.' },
  unavailable: { status: 503, title: 'Please try again', text: 'We could not confirm your subscription just now. Please open the link again in a minute.' },
};

export function confirmPage(page: ConfirmPage): { status: 200 | 400 | 410 | 503; html: string } {
  const { status, title, text } = PAGES[page];
  const html = `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">`
    + `<meta name="robots" content="noindex"><title>${title}</title><style>body{font:18px/1.5 system-ui,sans-serif;max-width:32em;margin:4em auto;padding:0 1em;color:#222}</style></head>`
    + `<body><h1>${title}</h1><p>${text}</p></body></html>`;
  return { status, html };
}

/** No script may run, nothing is fetched, the token goes to no other site, no cache keeps it. */
export const CONFIRM_PAGE_HEADERS = {
  'content-type': 'text/html; charset=utf-8',
  'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'",
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
  'x-robots-tag': 'noindex',
} as const;
