/**
 * The three hooks the widget uses, in a few lines instead of `preact/hooks` (which cost about 800 B gzip of
 * the UI chunk's 8,000 B budget, for a diffing scheduler, memo, context and reducers we never use).
 * Same call shapes as `preact/hooks`, so a component reads the same, with two limits stated in
 * the types: `useEffect` runs once after the first render (deps `[]`, its cleanup on unmount),
 * and a state setter takes a value, not an updater function.
 *
 * It hooks into Preact the way `preact/hooks` does, through `options` and the internal names
 * Preact's own mangle.json gives them (preact is pinned in package.json): `options.__r` is
 * called before each component render with the vnode, whose `__c` is the component instance
 * (a Component subclass even for a function component, hence `setState`).
 */
import { options } from 'preact';

interface Instance {
  setState(state: object): void;
  /** This component's hook slots, in call order. */
  __ss?: unknown[];
}
/** A `useEffect` slot: the cleanup, once the effect ran. */
type Effect = { __off?: () => unknown };
type Hooked = { __r?: (vnode: { __c: Instance }) => void; unmount?: (vnode: { __c?: Instance }) => void };

const o = options as unknown as Hooked;
let current: Instance;
let index = 0;

// Nothing else sets these options: the chunk is one IIFE with its own copy of Preact.
o.__r = (vnode) => {
  current = vnode.__c;
  index = 0;
};
o.unmount = (vnode) => vnode.__c?.__ss?.forEach((slot) => (slot as Effect).__off?.());

/** The component's slot for this call, made on its first render. */
function slot<T>(make: () => T): T {
  const slots = (current.__ss ||= []);
  return (slots[index++] ||= make()) as T;
}

export function useState<T>(initial: T | (() => T)): [T, (next: T) => void] {
  const owner = current;
  return slot(() => {
    const pair: [T, (next: T) => void] = [
      typeof initial == 'function' ? (initial as () => T)() : initial,
      (next) => {
        if (pair[0] !== next) {
          pair[0] = next;
          owner.setState({});
        }
      },
    ];
    return pair;
  });
}

export function useRef<T>(initial: T): { current: T };
export function useRef<T>(initial: T | null): { current: T | null };
export function useRef<T>(initial: T) {
  return slot(() => ({ current: initial }));
}

/** Runs `effect` once, after the first render has been committed; its cleanup runs on unmount. */
export function useEffect(effect: () => void | (() => unknown), _deps: []): void {
  slot(() => {
    const hook: Effect = {};
    queueMicrotask(() => (hook.__off = effect() || undefined));
    return hook;
  });
}
