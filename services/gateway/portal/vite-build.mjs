// Builds the portal into the folder given as the only argument (the gateway
// runs this in a child process; see services/gateway/src/portal/portal-build.ts).
import { build } from 'vite';

const outDir = process.argv[2];
if (!outDir) {
  console.error('usage: node vite-build.mjs OUT_DIR');
  process.exit(2);
}
await build({
  configFile: new URL('./vite.config.mjs', import.meta.url).pathname,
  logLevel: 'warn',
  build: { outDir, emptyOutDir: true },
});
