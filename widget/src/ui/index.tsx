/**
 * sharpsend-ui.js: the lazy chunk. The loader injects it only when the page has a
 * `[data-sharpsend]` placeholder; it registers `mount` on the loader and mounts each
 * placeholder in its own open Shadow DOM, so page CSS and widget CSS never meet.
 */
import { render } from 'preact';
import type { Core, SharpSend } from '../embed/core.ts';
import { Picker } from './Picker.tsx';
import { Signup } from './Signup.tsx';
import { connect } from './shared.ts';
import { adoptStyles } from './styles.ts';

const views = { preferences: Picker, signup: Signup };
const core: Core | undefined = (window as unknown as { sharpsend?: SharpSend }).sharpsend?.x;

if (core && !core.onPrefs) {
  connect(core);
  core.mount = () =>
    document.querySelectorAll<HTMLElement>('[data-sharpsend]').forEach((el) => {
      const View = views[el.dataset.sharpsend as keyof typeof views];
      if (!View || el.shadowRoot) return;
      const root = el.attachShadow({ mode: 'open' });
      adoptStyles(root);
      render(<View core={core} data={el.dataset} />, root.appendChild(document.createElement('div')));
    });
  core.mount();
}
