/**
 * `npm run schemas`: writes the event contract's JSON Schemas (see event-schemas.ts) into docs/schemas/.
 * Commit the result; event-schemas.spec.ts fails while the files and the DTOs disagree.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { projectPath } from '@nunchi/config';
import { buildEventSchemas, schemaFileText } from './event-schemas.js';

for (const [path, schema] of buildEventSchemas()) {
  const file = projectPath(path);
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, schemaFileText(schema));
  console.log(`wrote ${path}`);
}
