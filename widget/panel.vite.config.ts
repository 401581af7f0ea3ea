// Placeholder until the editors' panel lands: builds dist/public/panel/index.html.
import { defineConfig } from 'vite';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('./src/panel', import.meta.url));
export default defineConfig({
  root,
  base: '/panel/',
  publicDir: false,
  build: { outDir: fileURLToPath(new URL('../dist/public/panel', import.meta.url)), emptyOutDir: true },
});
