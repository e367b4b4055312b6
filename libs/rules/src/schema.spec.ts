import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { EVENT_TYPES } from '@nunchi/contracts';
import { TRIGGER_EVENT_TYPES } from './campaign.js';
import { campaignSchema } from './campaign.schema.js';

function repoFile(rel: string): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, rel))) {
    const up = dirname(dir);
    if (up === dir) throw new Error(`${rel} not found`);
    dir = up;
  }
  return join(dir, rel);
}

void describe('published campaign schema', () => {
  void it('docs/schemas/campaign.schema.json equals campaign.schema.ts (regenerate: node dist/libs/rules/tools/write-schema.js)', () => {
    const published: unknown = JSON.parse(
      readFileSync(repoFile('docs/schemas/campaign.schema.json'), 'utf8'),
    );
    assert.deepEqual(published, JSON.parse(JSON.stringify(campaignSchema)));
  });

  void it('trigger types are the contracts event types', () => {
    assert.deepEqual([...TRIGGER_EVENT_TYPES], [...EVENT_TYPES]);
  });
});
