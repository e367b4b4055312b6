// The web console (docs/console.md): built by `npm run build` into dist/console, served by the analytics
// service under /console/. Everything is bundled: no CDN, it works offline.
import react from '@vitejs/plugin-react';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: '/console/',
  plugins: [react()],
  logLevel: 'warn',
  build: {
    outDir: fileURLToPath(new URL('../../dist/console', import.meta.url)),
    emptyOutDir: true,
    // One chunk per concern keeps the first page small; the editor (CodeMirror) loads with its page.
    chunkSizeWarningLimit: 700,
    reportCompressedSize: false,
    // the bundler's timing report is noise in `npm run build` on a busy machine
    rolldownOptions: { checks: { bundlerTimings: false } },
  },
  server: {
    // `npx vite apps/console` during development: the API from a running analytics service.
    proxy: { '/v1': `http://127.0.0.1:${process.env.NUNCHI_ANALYTICS_PORT ?? 3004}` },
  },
});
