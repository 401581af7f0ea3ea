/**
 * The preference picker: topics as toggles, each click saved on the device at once and sent.
 * "Saved" is said once the edge took it; a pick still in the outbox afterwards (offline, 429,
 * 5xx: the outbox keeps it and sends it again later) is announced as not sent yet.
 */
import { useEffect, useState } from './hooks.ts';
import type { Core } from '../embed/core.ts';
import { fill, pickerTexts, withOverrides } from './texts.ts';
import { labelFor, listLabels, onPrefs, remember, stored } from './shared.ts';
import { parseTopics } from './topics.ts';

export function Picker({ core, data }: { core: Core; data: DOMStringMap }) {
  const t = withOverrides(pickerTexts, data);
  const topics = remember(parseTopics(data.topics));
  const [picked, setPicked] = useState(core.prefs);
  const [status, setStatus] = useState('');
  useEffect(() => onPrefs(setPicked), []);

  const toggle = async (slug: string, on: boolean) => {
    const next = on ? picked.concat(slug) : picked.filter((s) => s != slug);
    core.preferences(next);
    await core.flush();
    // Still in the outbox once the edge answered (or could not be reached): kept to send again.
    setStatus(stored('sharpsend:queue').includes('"type":"preferences"') ? t.pending : next.length ? fill(t.saved, listLabels(next.map(labelFor))) : t.none);
  };

  return (
    <fieldset class="card picker">
      <legend>{t.title}</legend>
      <p>{t.intro}</p>
      <div class="chips">
        {topics.map(({ slug, label }) => (
          <label class="chip" key={slug}>
            <input type="checkbox" checked={picked.includes(slug)} onChange={(e) => toggle(slug, e.currentTarget.checked)} />
            <span>{label}</span>
          </label>
        ))}
      </div>
      <p class="status ok" role="status" aria-live="polite">
        {status}
      </p>
    </fieldset>
  );
}
