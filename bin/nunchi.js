#!/usr/bin/env node
// The compiled CLI: `npm ci` builds it (the "prepare" script); run `npm run build` after changing sources.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const entry = new URL('../dist/apps/cli/src/main.js', import.meta.url);
if (!existsSync(fileURLToPath(entry))) {
  process.stderr.write('nunchi is not built yet: run "npm run build" in the project folder.\n');
  process.exit(1);
}
await import(entry.href);
