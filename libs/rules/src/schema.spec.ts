import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { EVENT_TYPES } from '@nunchi/contracts/core';
import { TRIGGER_EVENT_TYPES } from './campaign.js';
import { campaignSchema } from './campaign.schema.js';
import { ABSENCE_EVENT_TYPE } from './patterns/pattern.js';
import { projectPath } from '@nunchi/config';

void describe('published campaign schema', () => {
  void it('docs/schemas/campaign.schema.json equals campaign.schema.ts (regenerate: node dist/libs/rules/tools/write-schema.js)', () => {
    const published: unknown = JSON.parse(
      readFileSync(projectPath('docs/schemas/campaign.schema.json'), 'utf8'),
    );
    assert.deepEqual(published, JSON.parse(JSON.stringify(campaignSchema)));
  });

  void it('trigger types are the contracts event types and the synthetic absence event', () => {
    assert.deepEqual([...TRIGGER_EVENT_TYPES], [...EVENT_TYPES, ABSENCE_EVENT_TYPE]);
  });
});
