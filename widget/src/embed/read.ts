/**
 * Page reads: one `page` event per read with the time the page was visible and how far the
 * reader scrolled, sent when the page is hidden or left. A reader who comes back to the tab
 * and reads on sends the extra time as a further event when the page is hidden again.
 * History navigation (single-page sites) or `sharpsend('page')` ends the read and starts another.
 */
import type { PageEvent } from '#shared/protocol.ts';
import { engagedClock, type EngagedClock } from './engaged.ts';
import { slug } from './options.ts';

export type PageRead = Pick<PageEvent, 'type' | 'url' | 'title' | 'category' | 'engagedMs' | 'scrollDepth'>;


export function trackReads(emit: (read: PageRead, hiding: boolean) => void, fallbackCategory?: string) {
  const doc = document;
  const root = doc.documentElement;
  const now = () => performance.now();
  const visible = () => doc.visibilityState == 'visible';
  const meta = () => slug(doc.querySelector<HTMLMetaElement>('meta[name="sharpsend:category"]')?.content);
  const bare = (url: string) => url.split('#')[0];

  let url = '';
  let title = '';
  let category: string | undefined;
  let depth = 0;
  let sent = false;
  let clock: EngagedClock;

  function measure() {
    depth = Math.max(depth, Math.min(1, (scrollY + innerHeight) / (root.scrollHeight || 1)));
  }

  function begin(forced?: string) {
    url = location.href;
    title = doc.title;
    category = slug(forced) || meta();
    depth = 0;
    sent = false;
    clock = engagedClock(visible(), now());
  }

  /** `quiet`: a read that has only just begun is not worth an event (`sharpsend('page')` at load). */
  function end(hiding: boolean, quiet?: boolean) {
    const engagedMs = clock(visible(), now());
    // Not measured at the start: an async script can run before the page has its full height.
    if (!depth) measure();
    // Never visible (engaged 0 ms: a background tab, a prerender) is no read at all; continuations
    // under a second are noise (a tab flicked past), not reading.
    if (!engagedMs || ((sent || quiet) && engagedMs < 1000)) return;
    sent = true;
    emit(
      {
        type: 'page',
        url: url.slice(0, 2048),
        title: title.slice(0, 300),
        category: category || meta() || fallbackCategory,
        engagedMs,
        scrollDepth: Math.round(depth * 100) / 100,
      },
      hiding,
    );
  }

  function navigated() {
    if (bare(location.href) != bare(url)) {
      end(false);
      begin();
    }
  }

  // No `passive`: scroll events cannot be cancelled, so it would change nothing.
  addEventListener('scroll', measure);
  // Becoming visible starts a lap (the one it ends was hidden); becoming hidden ends the read's lap.
  doc.addEventListener('visibilitychange', () => (visible() ? clock(true, now()) : end(true)));
  addEventListener('pagehide', () => end(true));
  addEventListener('popstate', navigated);
  const push = history.pushState;
  history.pushState = function (...args) {
    push.apply(this, args);
    navigated();
  };

  begin();
  /** `sharpsend('page', { category })`: end this read and start a new one now. */
  return (o?: { category?: string }) => {
    end(false, true);
    begin(o?.category);
  };
}
