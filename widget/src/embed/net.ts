/**
 * sharpsend-net.js: the on-demand network chunk (send.ts). The loader injects it the first time
 * something must go by fetch and waits for it on the script element it made (`z`), so the
 * chunk needs no global of its own.
 */
import { type Post, post } from './send.ts';

(document.currentScript as HTMLScriptElement & { z: (post: Post) => void }).z(post);
