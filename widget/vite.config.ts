/**
 * Three builds into dist/public (the Worker's static assets), picked by `--mode`:
 *   (default) sharpsend.js     the loader + tracker, an IIFE with no framework
 *   ui        sharpsend-ui.js  the Preact picker and sign-up form, its own IIFE, loaded on demand
 *   net       sharpsend-net.js sending by fetch and reading the answer, loaded on demand (src/embed/send.ts)
 *   demo      demo/*.html      the demo publisher pages
 * IIFE has no code splitting, hence one build per file. Nothing here empties dist/public: the
 * panel build writes beside us.
 */
import { defineConfig, type UserConfig } from 'vite';
import { fileURLToPath } from 'node:url';

const here = (path: string) => fileURLToPath(new URL(path, import.meta.url));
const outDir = here('../dist/public');

type Minify = { mangleProps?: { include: RegExp; exclude?: RegExp; reserved?: string[] } };

function library(entry: string, fileName: string, minify: Minify = {}): UserConfig {
  return {
    publicDir: false,
    build: {
      outDir,
      emptyOutDir: false,
      // es2021 keeps `||=` and `??=` as written (Chrome 85, Safari 14, Firefox 79).
      target: 'es2021',
      lib: { entry: here(entry), formats: ['iife'], name: 'sharpsendBundle', fileName: () => fileName },
      rolldownOptions: { output: { minify: { compress: true, mangle: true, ...minify } } },
    },
  };
}

export default defineConfig(({ mode }) => {
  if (mode === 'ui') {
    return {
      ...library('src/ui/index.tsx', 'sharpsend-ui.js', {
        // Preact names its private fields `__x` (its own mangle.json); so do we (src/ui/hooks.ts).
        // The whole chunk is one build, so they can all be one letter (about 60 B gzip). `__html`
        // is a public prop; x, y, r are DOM properties (SVG) a one-letter name must not shadow.
        mangleProps: { include: /^__/, exclude: /^__html$/, reserved: ['x', 'y', 'r'] },
      }),
      // Classic JSX through Preact's own createElement (children as arguments): the automatic runtime
      // would add a second vnode factory and a `children:` key per element, about 70 B gzip.
      oxc: { jsx: { runtime: 'classic', pragma: 'h', pragmaFrag: 'Fragment' }, jsxInject: "import { h, Fragment } from 'preact'" },
    };
  }
  if (mode === 'net') return library('src/embed/net.ts', 'sharpsend-net.js');
  if (mode === 'demo') {
    return {
      root: here('demo'),
      base: '/demo/',
      publicDir: false,
      build: {
        outDir: here('../dist/public/demo'),
        emptyOutDir: true,
        rollupOptions: {
          input: {
            index: here('demo/index.html'),
            stocks: here('demo/stocks.html'),
            hostile: here('demo/hostile.html'),
            csp: here('demo/csp.html'),
          },
        },
      },
    };
  }
  return library('src/embed/index.ts', 'sharpsend.js');
});
