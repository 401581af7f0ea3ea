/**
 * Publisher options from the script tag's data attributes, and the privacy decision.
 * Pure: the loader passes `script.dataset` and what it read from `navigator`.
 */
export type ConsentMode = 'auto' | 'required' | 'granted';

export interface Options {
  workspace: string;
  /** Absolute URL of `POST /v1/events`. */
  endpoint: string;
  consent: ConsentMode;
  /** Fallback category when the page has no `<meta name="sharpsend:category">`. */
  category?: string;
}

/**
 * `data-endpoint` wins; otherwise the events path on the origin the script was served from,
 * so the one tag works wherever the edge is deployed.
 */
export function readOptions(data: Record<string, string | undefined>, scriptSrc: string): Options {
  return {
    workspace: data.workspace || '',
    endpoint: data.endpoint || new URL('/v1/events', scriptSrc).href,
    consent: (data.consent || 'auto') as ConsentMode,
    category: slug(data.category),
  };
}

/**
 * May we track this reader? A stored answer from `sharpsend('consent', …)` always wins. Otherwise
 * `granted` means the publisher already holds the reader's opt-in, `required` waits for one, and
 * `auto` (and any unknown value) tracks unless the browser says Do Not Track or Global Privacy Control.
 */
export function mayTrack(mode: ConsentMode, stored: string | null, dnt: boolean, gpc?: boolean): boolean {
  if (stored) return stored == '1';
  return mode == 'granted' || (mode != 'required' && !dnt && !gpc);
}

/** A category or topic as the protocol takes it ("Crypto News" → "crypto-news"), or undefined. */
export function slug(value: string | null | undefined): string | undefined {
  const s = (value || '').trim().toLowerCase().replace(/\s+/g, '-');
  return /^[a-z0-9][a-z0-9_-]{0,31}$/.test(s) ? s : undefined;
}
