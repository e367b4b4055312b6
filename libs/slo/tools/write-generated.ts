/**
 * `npm run slo:generate`: writes the Prometheus rules and the Grafana dashboard generated from slo/slo.yaml.
 * Commit the result; test/slo-rules.spec.ts fails while they are stale.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { projectPath } from '@nunchi/config';
import { generatedFiles } from './generated-files.js';

for (const [path, text] of generatedFiles()) {
  const file = projectPath(path);
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, text);
  console.log(`wrote ${path}`);
}
