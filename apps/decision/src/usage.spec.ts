import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { usageFromHistory } from './usage.js';

describe('usageFromHistory', () => {
  it("counts today's offers (Seoul day) per campaign and channel, and lifetime offers", () => {
    const now = Date.parse('2026-11-24T12:00:00Z'); // 21:00 in Seoul
    const usage = usageFromHistory(
      [
        { decidedAtMs: Date.parse('2026-11-24T10:00:00Z'), outcome: 'offer', campaignId: 'a', channel: 'pos' },
        { decidedAtMs: Date.parse('2026-11-23T16:00:00Z'), outcome: 'offer', campaignId: 'a', channel: 'web' }, // 01:00 Seoul, today
        { decidedAtMs: Date.parse('2026-11-23T14:00:00Z'), outcome: 'offer', campaignId: 'a', channel: 'pos' }, // 23:00 Seoul yesterday
        { decidedAtMs: Date.parse('2026-11-24T10:00:00Z'), outcome: 'control', campaignId: 'b', channel: 'pos' },
      ],
      now,
      'Asia/Seoul',
    );
    assert.equal(usage.offersToday, 2);
    assert.deepEqual(usage.byCampaignToday, { a: 2 });
    assert.deepEqual(usage.byCampaignLifetime, { a: 3 });
    assert.deepEqual(usage.byChannelToday, { a: { pos: 1, web: 1 } });
  });
});
