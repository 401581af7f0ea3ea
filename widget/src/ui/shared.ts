/**
 * State every mounted component shares: the picked topics (kept by the loader, pushed here on
 * change) and the labels pickers declared, so the sign-up form names topics the same way.
 */
import type { Core } from '../embed/core.ts';
import type { StorageKey } from '../embed/storage.ts';
import { labelOf, listLabels, type Topic } from './topics.ts';

const listeners = new Set<(topics: string[]) => void>();
const labels: Record<string, string> = {};

export function connect(core: Core): void {
  core.onPrefs = (topics) => listeners.forEach((listener) => listener(topics));
}

/** Subscribes; returns the unsubscribe (a useEffect cleanup). */
export function onPrefs(listener: (topics: string[]) => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

export function remember(topics: Topic[]): Topic[] {
  for (const { slug, label } of topics) labels[slug] = label;
  return topics;
}

export const labelFor = (slug: string): string => labels[slug] || labelOf(slug);

export { listLabels };

/** The widget's storage as the chunk reads it (and writes `value`, JSON text); blocked storage: ''. */
export function stored(key: StorageKey, value?: string): string {
  try {
    if (value) localStorage[key] = value;
    return localStorage[key] || '';
  } catch {
    return '';
  }
}
