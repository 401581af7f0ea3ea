/** The UI chunk's pure logic: topic parsing, labels, texts and their overrides, email checks. */
import { describe, expect, it } from 'vitest';
import { labelOf, listLabels, parseTopics } from '../../widget/src/ui/topics.ts';
import { fill, isEmail, signupTexts, withOverrides } from '../../widget/src/ui/texts.ts';

describe('data-topics', () => {
  it('reads slugs with optional labels, skipping bad and repeated ones', () => {
    expect(parseTopics('crypto, Stocks ,options:Options & derivatives,bad slug!,crypto,')).toEqual([
      { slug: 'crypto', label: 'Crypto' },
      { slug: 'stocks', label: 'Stocks' },
      { slug: 'options', label: 'Options & derivatives' },
    ]);
    expect(parseTopics(undefined)).toEqual([]);
  });

  it('makes readable labels from slugs', () => {
    expect(labelOf('real-estate')).toBe('Real estate');
    expect(labelOf('macro_economy')).toBe('Macro economy');
  });

  it('lists topics as a sentence', () => {
    expect(listLabels([])).toBe('');
    expect(listLabels(['Crypto'])).toBe('Crypto');
    expect(listLabels(['Crypto', 'Stocks'])).toBe('Crypto and Stocks');
    expect(listLabels(['A', 'B', 'C'])).toBe('A, B and C');
  });
});

describe('texts', () => {
  it('lets data attributes replace any text and ignores unknown or empty ones', () => {
    const t = withOverrides(signupTexts, { title: 'Join us', button: '', onclick: 'x' });
    expect(t.title).toBe('Join us');
    expect(t.button).toBe(signupTexts.button);
    expect(t).not.toHaveProperty('onclick');
  });

  it('fills in the topics', () => {
    expect(fill('Your topics: {topics}', 'Crypto and Stocks')).toBe('Your topics: Crypto and Stocks');
  });
});

describe('isEmail', () => {
  it('accepts ordinary addresses and rejects typos', () => {
    expect(isEmail('reader@example.com')).toBe(true);
    expect(isEmail('first.last+news@mail.example.co.uk')).toBe(true);
    for (const bad of ['', 'reader', 'reader@', 'reader@example', 'a b@example.com', '@example.com', 'reader@@example.com', `${'a'.repeat(250)}@x.io`]) {
      expect(isEmail(bad), bad).toBe(false);
    }
  });
});

describe('sign-up form options', () => {
  it('asks for a consent box only with data-consent-box="required"', async () => {
    const { consentBoxRequired } = await import('../../widget/src/ui/texts.ts');
    expect(consentBoxRequired({})).toBe(false);
    expect(consentBoxRequired({ consentBox: 'none' })).toBe(false);
    expect(consentBoxRequired({ consentBox: 'required' })).toBe(true);
    expect(consentBoxRequired({ consentBox: 'yes please' })).toBe(false);
  });

  it('keeps one consent text override for both the box and the fine print', () => {
    const t = withOverrides(signupTexts, { consentText: 'Custom consent' });
    expect(t.consentText).toBe('Custom consent');
    expect(withOverrides(signupTexts, {}).consentText).toBe('');
    expect(signupTexts.finePrint).toMatch(/^By signing up/);
    expect(signupTexts.consentLabel).toMatch(/^I agree/);
  });
});
