/**
 * `data-topics="crypto,stocks:Stocks & ETFs,options"`: slugs as the protocol takes them, each
 * with an optional display label after a colon. Pure, tested in Node.
 */
export interface Topic {
  slug: string;
  label: string;
}

const SLUG = /^[a-z0-9][a-z0-9_-]{0,31}$/;

/** "real-estate" → "Real estate". */
export function labelOf(slug: string): string {
  const words = slug.replace(/[-_]+/g, ' ');
  return words.charAt(0).toUpperCase() + words.slice(1);
}

export function parseTopics(value: string | undefined): Topic[] {
  const seen = new Set<string>();
  const topics: Topic[] = [];
  for (const part of (value || '').split(',')) {
    const colon = part.indexOf(':');
    const slug = (colon < 0 ? part : part.slice(0, colon)).trim().toLowerCase();
    const label = colon < 0 ? '' : part.slice(colon + 1).trim();
    if (!SLUG.test(slug) || seen.has(slug)) continue;
    seen.add(slug);
    topics.push({ slug, label: label || labelOf(slug) });
  }
  return topics;
}

/** "Crypto", "Crypto and Stocks", "Crypto, Stocks and Options". */
export function listLabels(labels: string[], and = 'and'): string {
  return labels.length < 2 ? labels.join('') : `${labels.slice(0, -1).join(', ')} ${and} ${labels[labels.length - 1]}`;
}
