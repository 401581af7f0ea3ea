/** The preference picker: topics as toggles, each click saved at once and announced. */
import { useEffect, useState } from 'preact/hooks';
import type { Core } from '../embed/core.ts';
import { fill, pickerTexts, withOverrides } from './texts.ts';
import { labelFor, listLabels, onPrefs, remember } from './shared.ts';
import { parseTopics } from './topics.ts';

export function Picker({ core, data }: { core: Core; data: DOMStringMap }) {
  const t = withOverrides(pickerTexts, data);
  const topics = remember(parseTopics(data.topics));
  const [picked, setPicked] = useState(core.prefs);
  const [status, setStatus] = useState('');
  useEffect(() => onPrefs(setPicked), []);

  const toggle = (slug: string, on: boolean) => {
    const next = on ? picked.concat(slug) : picked.filter((s) => s != slug);
    core.setPrefs(next);
    setStatus(next.length ? fill(t.saved, listLabels(next.map(labelFor))) : t.none);
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
