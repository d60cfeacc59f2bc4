import { fileURLToPath } from 'node:url';
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

const here = (path) => fileURLToPath(new URL(path, import.meta.url));

// The portal's build (`npm run portal:build`, or on demand by the gateway) and
// its dev server (`npx vite services/gateway/portal`, API proxied to `npm start`).
export default defineConfig({
  root: here('.'),
  base: '/',
  plugins: [react()],
  resolve: {
    // The channel table is shared with the API's validation (libs/campaign-model); only that file, not the whole lib.
    alias: { '@herald/campaign-model': here('../../../libs/campaign-model/src/channels.ts') },
  },
  build: {
    outDir: here('dist'),
    emptyOutDir: true,
    // No inline script anywhere: the Content-Security-Policy allows scripts from this origin only.
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0,
    chunkSizeWarningLimit: 2000,
    reportCompressedSize: false,
  },
  server: {
    proxy: { '/api': 'http://127.0.0.1:3000', '/portal/preview': 'http://127.0.0.1:3000' },
  },
});
