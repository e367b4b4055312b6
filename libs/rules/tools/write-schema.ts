/**
 * Writes docs/schemas/campaign.schema.json from libs/rules/src/campaign.schema.ts (the source of truth).
 * Run after changing the schema: `npm run -s build && node dist/libs/rules/tools/write-schema.js`.
 * The spec test schema.spec.ts fails while the two differ.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { campaignSchema } from '../src/campaign.schema.js';

let root = dirname(fileURLToPath(import.meta.url));
while (!existsSync(join(root, 'package.json')) || !existsSync(join(root, 'docs'))) {
  const up = dirname(root);
  if (up === root) throw new Error('repository root not found');
  root = up;
}
const file = join(root, 'docs', 'schemas', 'campaign.schema.json');
mkdirSync(dirname(file), { recursive: true });
writeFileSync(file, `${JSON.stringify(campaignSchema, null, 2)}\n`);
console.log(`wrote ${file}`);
