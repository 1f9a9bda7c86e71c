// Builds the console into dist/web/, which the gateway serves at `/`. JSX is compiled by Vite's own
// transformer (no plugin) for Preact's automatic runtime. Everything is bundled: no CDN, since edge
// PCs are often offline.
import { defineConfig } from 'vite';

const here = decodeURIComponent(new URL('.', import.meta.url).pathname);

export default defineConfig({
  root: here,
  base: '/',
  logLevel: 'warn',
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  build: {
    outDir: `${here}../dist/web`,
    emptyOutDir: true,
    target: 'es2022',
    // The gateway's CSP allows no inline script; the preload polyfill is not needed by evergreen browsers.
    modulePreload: { polyfill: false },
    reportCompressedSize: false,
  },
  server: {
    // `npx vite web` during development: the API comes from a gateway running on :8080.
    proxy: { '/api': 'http://127.0.0.1:8080' },
  },
});
