/**
 * First-party storage: localStorage, or a plain object where it is blocked (storage disabled,
 * sandboxed iframes, old private modes). Never cookies. Property access works on both.
 * Keys are written out as literals (checked against shared/constants.ts STORAGE_KEYS by type):
 * an object of names would cost the loader bytes it does not have.
 */
import type { STORAGE_KEYS } from '#shared/constants.ts';

export type StorageKey = (typeof STORAGE_KEYS)[keyof typeof STORAGE_KEYS];
let store: Record<string, string>;
try {
  store = localStorage;
  store.x;
} catch {
  store = {};
}

export function load<T>(key: StorageKey, fallback: T): T {
  try {
    return JSON.parse(store[key]!) ?? fallback;
  } catch {
    return fallback;
  }
}

/** Returns `value`, so a caller can store and use it in one expression. */
export function save<T>(key: StorageKey, value: T): T {
  try {
    store[key] = JSON.stringify(value);
  } catch {
    /* over quota: this page goes on without it */
  }
  return value;
}

export const forget = (key: StorageKey): boolean => delete store[key];
