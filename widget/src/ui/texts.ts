/**
 * Every word the widget shows, overridable per placeholder through data attributes
 * (`data-title="…"` replaces `title`, `data-consent-text="…"` replaces `consentText`).
 * `{topics}` in a text is replaced by the picked topics.
 */
export const pickerTexts = {
  title: 'Pick your topics',
  intro: 'Choose what you want to read more of. Your choice is saved as you click.',
  saved: 'Saved. You follow {topics}.',
  none: 'Saved. No topics picked.',
  pending: 'Not sent yet: we will try again.',
};

export const signupTexts = {
  title: 'Get the newsletter',
  intro: 'One email a day with the stories that matter to you. Free, unsubscribe any time.',
  label: 'Email address',
  placeholder: 'you@example.com',
  picked: 'Your topics: {topics}',
  noTopics: 'All topics. Pick some to tailor it.',
  /** The consent box's label (`data-consent-box="required"`), or the fine print under the button (the default). */
  consentText: '',
  consentLabel: 'I agree to receive this newsletter and know I can unsubscribe at any time.',
  finePrint: 'By signing up you agree to receive this newsletter. Unsubscribe any time.',
  button: 'Sign up',
  sending: 'Signing you up…',
  success: 'You are in! Check your inbox for the first issue.',
  /** Double opt-in: the sign-up waits for the reader to confirm it from the email. */
  confirm: 'Check your inbox to confirm.',
  invalid: 'Please enter a valid email address, like name@example.com.',
  needConsent: 'Please tick the box to agree to receive the newsletter.',
  error: 'Sorry, we could not sign you up just now. Please try again.',
  /** Shown instead of the fields when this device signed up before. */
  subscribed: "You're subscribed.",
};

/** `data-consent-box`: a box to tick (`required`) or fine print under the button (`none`, the default). */
export const consentBoxRequired = (data: Record<string, string | undefined>): boolean => data.consentBox == 'required';

export function withOverrides<T extends Record<string, string>>(defaults: T, data: Record<string, string | undefined>): T {
  const out = { ...defaults };
  for (const key in defaults) {
    const value = data[key];
    if (value) out[key] = value as T[typeof key];
  }
  return out;
}

export const fill = (text: string, topics: string): string => text.replace('{topics}', topics);

/** Deliberately loose: the browser's and the edge's checks are the strict ones; this catches typos. */
export const isEmail = (value: string): boolean => value.length <= 254 && /^[^\s@]+@[^\s@.]+(\.[^\s@.]+)+$/.test(value);
