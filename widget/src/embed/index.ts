/**
 * sharpsend.js: the one script a publisher pastes. Framework-free and small (gzip budget in bench/size.mjs):
 * it tracks page reads, runs the command queue, and loads the UI chunk only when the page has a
 * `[data-sharpsend]` placeholder, the network chunk only when something goes by fetch (outbox.ts).
 *
 *   <script async src="https://EDGE/sharpsend.js" data-workspace="demo"></script>
 */
import type { GrantEventInput, ReaderEventInput } from '#shared/protocol.ts';
import type { Core, SharpSend, SignupInput } from './core.ts';
import { makeId } from './ids.ts';
import { mayTrack, slug } from './options.ts';
import { clear, enqueue, flush, post } from './outbox.ts';
import { trackReads } from './read.ts';
import { chunk, options as opts } from './script.ts';
import { forget, load, save } from './storage.ts';

type AnyInput = ReaderEventInput | GrantEventInput;
type NewEvent = AnyInput extends infer E ? (E extends AnyInput ? Omit<E, 'id' | 'anonymousId' | 'ts'> : never) : never;

const w = window as unknown as { sharpsend?: SharpSend };
const stub = w.sharpsend;

if (!stub?.x) {
  const nav = navigator as Navigator & { globalPrivacyControl?: boolean };
  let tracking = mayTrack(opts.consent, load('sharpsend:consent', null), nav.doNotTrack == '1', nav.globalPrivacyControl);
  /** Used when tracking is off: a sign-up still needs an id, but it is never stored. */
  let ephemeral = '';

  const anonymousId = (): string => {
    if (!tracking) return (ephemeral ||= makeId());
    return load('sharpsend:aid', '') || save('sharpsend:aid', makeId());
  };
  const stamp = (e: NewEvent, id?: string) => ({ ...e, id: id || makeId(), anonymousId: anonymousId(), ts: Date.now() }) as ReaderEventInput;
  const send = (e: NewEvent, hiding?: boolean) => tracking && enqueue([stamp(e)], hiding);
  const prefs = (): string[] => load('sharpsend:prefs', []);

  // A click grant from a tracked link (README "Readers who arrive from an email"): out of the
  // address bar before anything reads the URL (our read below, the page's analytics), redeemed
  // once, and only when tracking is allowed.
  // The edge always puts the grant last in the fragment, so what precedes it is the page's URL.
  const [bare, grant] = location.href.split(/[#&]ss_grant=/);
  if (grant) {
    history.replaceState(history.state, '', bare);
    if (tracking) post([stamp({ type: 'grant', grant })]);
  }
  const newRead = trackReads(send, opts.category);

  const core: Core = {
    prefs,
    makeId,
    flush,
    preferences(topics) {
      topics = topics.map(slug).filter((t): t is string => !!t);
      save('sharpsend:prefs', topics);
      send({ type: 'preferences', topics });
      core.onPrefs?.(topics);
    },
    // A sign-up is the reader's own request, so it goes even when tracking is off (with an id
    // that is not kept); it is sent at once, not queued, so the form can answer.
    signup: (input: SignupInput) => post([stamp({ type: 'signup', ...input, topics: input.topics || prefs() }, input.id)]),
    page: newRead,
    track: (name, properties) => send({ type: 'track', name, properties: properties as never }),
    consent(granted) {
      save('sharpsend:consent', granted ? '1' : '0');
      if (granted == tracking) return;
      if (granted) newRead(); // count from now: drop what was read while not tracking
      tracking = granted;
      if (granted) return;
      forget('sharpsend:aid');
      clear();
    },
    // The UI chunk replaces this with its own. A second injection (mount called before the chunk
    // arrived) is harmless: the chunk starts once.
    mount() {
      if (document.querySelector('[data-sharpsend]')) chunk('sharpsend-ui.js');
    },
  };

  const api = ((name: keyof Core, ...args: unknown[]) => (core[name] as (...a: unknown[]) => unknown)?.(...args)) as SharpSend;
  api.x = core;
  w.sharpsend = api;
  for (const args of stub?.q || []) api(...(args as Parameters<SharpSend>));

  addEventListener('online', () => flush());
  if (tracking) flush(); // events a previous page could not deliver
  // DOMContentLoaded bubbles from the document to the window.
  if (document.readyState == 'loading') addEventListener('DOMContentLoaded', () => core.mount());
  else core.mount();
}
