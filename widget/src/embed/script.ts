/**
 * The loader's own script tag, read once as the bundle runs (`currentScript` is only set then):
 * the publisher's options, and the chunks served beside it (sharpsend-ui.js, sharpsend-net.js).
 */
import { readOptions } from './options.ts';

// currentScript is null when the tag sits in a shadow tree or another loader evaluated the code: then the tag by its attribute.
const script = (document.currentScript || document.querySelector('script[data-workspace]')) as HTMLScriptElement;
export const options = readOptions(script.dataset, script.src);

/** Adds a chunk from beside sharpsend.js; returns its element (for `onerror` and the hand-over). */
export const chunk = (file: string): HTMLScriptElement => {
  const s = document.createElement('script');
  s.src = new URL(file, script.src).href;
  return document.head.appendChild(s);
};
