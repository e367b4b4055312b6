import assert from 'node:assert/strict';
import { it } from 'node:test';
import { CAMPAIGN_STATUSES as LIFECYCLE_STATUSES } from '@nunchi/campaigns-model';
import { CAMPAIGN_STATUSES } from './campaign-statuses.js';

void it("campaigns list --state names the lifecycle's statuses, in its order", () => {
  assert.deepEqual(CAMPAIGN_STATUSES, LIFECYCLE_STATUSES);
});
