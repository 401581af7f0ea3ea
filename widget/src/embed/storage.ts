/**
 * First-party storage: localStorage, or a plain object where it is blocked (storage disabled,
 * sandboxed iframes, old private modes). Never cookies. Property access works on both.
 */
let store: Record<string, string>;
try {
  store = localStorage;
  store.x;
} catch {
  store = {};
}

export function load<T>(key: string, fallback: T): T {
  try {
    return JSON.parse(store[key]!) ?? fallback;
  } catch {
    return fallback;
  }
}

export function save(key: string, value: unknown): void {
  try {
    store[key] = JSON.stringify(value);
  } catch {
    /* over quota: this page goes on without it */
  }
}

export const forget = (key: string): boolean => delete store[key];
