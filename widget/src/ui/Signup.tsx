/**
 * The sign-up form: email, the topics picked so far, consent (a box to tick with
 * `data-consent-box="required"`, else fine print under the button), a honeypot. Submits once (a
 * retry after an error reuses the event id, so the edge counts it once), then says so. A device
 * that signed up already sees "You're subscribed" (`data-when-subscribed="hide"`: nothing).
 */
import { useEffect, useRef, useState } from './hooks.ts';
import type { Core } from '../embed/core.ts';
import { consentBoxRequired, fill, isEmail, signupTexts, withOverrides } from './texts.ts';
import { labelFor, listLabels, onPrefs, stored } from './shared.ts';

type State = 'idle' | 'invalid' | 'needConsent' | 'sending' | 'success' | 'confirm' | 'error' | 'subscribed';

export function Signup({ core, data }: { core: Core; data: DOMStringMap }) {
  const t = withOverrides(signupTexts, data);
  const box = consentBoxRequired(data);
  const [picked, setPicked] = useState(core.prefs);
  const [state, setState] = useState<State>(() => (stored('sharpsend:subscribed') ? 'subscribed' : 'idle'));
  const busy = useRef(false);
  const attempt = useRef({ email: '', id: '' });
  const email = useRef<HTMLInputElement>(null);
  const consent = useRef<HTMLInputElement>(null);
  const trap = useRef<HTMLInputElement>(null);
  useEffect(() => onPrefs(setPicked), []);

  const submit = async (e: Event) => {
    e.preventDefault();
    if (busy.current) return; // one submission however often it is clicked
    const address = email.current!.value.trim();
    if (!isEmail(address)) return fail('invalid', email.current);
    if (box && !consent.current!.checked) return fail('needConsent', consent.current);
    busy.current = true;
    setState('sending');
    if (trap.current!.value) return setState('success'); // a bot filled the hidden field: pretend
    if (attempt.current.email != address) attempt.current = { email: address, id: core.makeId() };
    const res = await core.signup({ email: address, consent: true, topics: picked, id: attempt.current.id });
    if (res?.ok) {
      stored('sharpsend:subscribed', String(Date.now())); // so this device is not asked again
      // Double opt-in: the edge says the sign-up waits for its confirmation email.
      return setState((await res.json().catch(() => 0))?.confirm ? 'confirm' : 'success');
    }
    busy.current = false;
    const answer = res ? await res.text().catch(() => '') : 'unreachable';
    if (res && res.status < 500 && answer.includes('email')) return fail('invalid', email.current);
    console.warn('SharpSend: sign-up failed:', res?.status, answer);
    setState('error');
  };

  const fail = (next: State, field: HTMLInputElement | null) => {
    setState(next);
    field?.focus();
  };

  const done = state == 'success' || state == 'confirm' || state == 'subscribed';
  if (state == 'subscribed' && data.whenSubscribed == 'hide') return null;
  const invalid = state == 'invalid';
  const message = state == 'idle' ? '' : t[state];
  return (
    <form class="card" onSubmit={submit} noValidate aria-labelledby="ss-title">
      <h2 id="ss-title">{t.title}</h2>
      {done ? null : (
        <>
          <p>{t.intro}</p>
          <label for="ss-email">{t.label}</label>
          <div class="row">
            <input
              id="ss-email"
              ref={email}
              type="email"
              name="email"
              autocomplete="email"
              placeholder={t.placeholder}
              required
              aria-invalid={invalid}
              aria-describedby="ss-status"
              onInput={() => invalid && setState('idle')}
            />
            <button type="submit" disabled={state == 'sending'}>
              {t.button}
            </button>
          </div>
          <p class="picked">{picked.length ? fill(t.picked, listLabels(picked.map(labelFor))) : t.noTopics}</p>
          {box ? (
            <label class="consent">
              <input ref={consent} type="checkbox" name="consent" required onChange={() => state == 'needConsent' && setState('idle')} />
              <span>{t.consentText || t.consentLabel}</span>
            </label>
          ) : (
            <p class="picked">{t.consentText || t.finePrint}</p>
          )}
          <div class="hp" aria-hidden="true">
            <label>
              Leave this empty <input ref={trap} name="website" tabIndex={-1} autocomplete="off" />
            </label>
          </div>
        </>
      )}
      <p id="ss-status" class={`status ${done ? 'ok' : state == 'sending' ? '' : 'bad'}`} role="status" aria-live="polite">
        {message}
      </p>
    </form>
  );
}
