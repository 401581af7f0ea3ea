// The editors' panel: its own Vite entry (a small Preact app), built to dist/public/panel/ and
// served by the Worker's assets at /panel/.
import { defineConfig } from 'vite';
import preact from '@preact/preset-vite';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('.', import.meta.url));
export default defineConfig({
  root,
  base: '/panel/',
  publicDir: false,
  plugins: [preact({ devToolsEnabled: false, prefreshEnabled: false })],
  build: {
    outDir: fileURLToPath(new URL('../../dist/public/panel', import.meta.url)),
    emptyOutDir: true,
    target: 'es2022',
  },
});
