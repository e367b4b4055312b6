import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  claimsOf,
  EMPTY_LEDGER,
  hasClaim,
  ownClaims,
  usageOf,
  hasMerged,
  withClaim,
  withMergedLedger,
  withoutMergedLedger,
  withoutClaim,
  type ContactClaim,
} from './contact-ledger.js';

const today = '2026-11-24';
const claim = (
  decisionId: string,
  campaignId: string,
  day = today,
  channel = 'pos',
  outcome: ContactClaim['outcome'] = 'offer',
): ContactClaim => ({ decisionId, campaignId, day, channel, outcome });

describe('contact ledger', () => {
  it("counts today's offers per campaign and channel, lifetime per campaign, and only offers for the contact policy", () => {
    let l = EMPTY_LEDGER;
    l = withClaim(l, claim('d1', 'a'), today);
    l = withClaim(l, claim('d2', 'a', today, 'web'), today);
    l = withClaim(l, claim('d0', 'a', '2026-11-23'), today);
    l = withClaim(l, claim('d3', 'b', today, 'pos', 'control'), today);
    assert.equal(l.seq, 4);
    const usage = usageOf(l, today);
    assert.equal(usage.offersToday, 2, 'control is not a contact');
    assert.deepEqual(usage.byCampaignToday, { a: 2, b: 1 }, 'control counts towards its campaign caps');
    assert.deepEqual(usage.byCampaignLifetime, { a: 3, b: 1 });
    assert.deepEqual(usage.byChannelToday, { a: { pos: 1, web: 1 }, b: { pos: 1 } });
  });

  it('a claim added twice counts once (redelivery)', () => {
    const once = withClaim(EMPTY_LEDGER, claim('d1', 'a'), today);
    const twice = withClaim(once, claim('d1', 'a'), today);
    assert.deepEqual(usageOf(twice, today), usageOf(once, today));
    assert.ok(hasClaim(twice, 'd1', 'a'));
  });

  it('leaves out a decision’s own claims when asked, so a redelivered decision is not capped by itself', () => {
    let l = withClaim(EMPTY_LEDGER, claim('d1', 'a'), today);
    l = withClaim(l, claim('d2', 'a'), today);
    assert.deepEqual(
      ownClaims(l, 'd1').map((c) => c.campaignId),
      ['a'],
    );
    const usage = usageOf(l, today, 'd1');
    assert.equal(usage.offersToday, 1);
    assert.deepEqual(usage.byCampaignToday, { a: 1 });
    assert.deepEqual(usage.byCampaignLifetime, { a: 1 });
  });

  it('a release gives the slot back; releasing what is not there changes no count', () => {
    const l = withClaim(EMPTY_LEDGER, claim('d1', 'a'), today);
    const released = withoutClaim(l, 'd1', 'a', today);
    assert.equal(usageOf(released, today).offersToday, 0);
    assert.deepEqual(released.lifetime, {});
    assert.deepEqual(usageOf(withoutClaim(l, 'd9', 'a', today), today), usageOf(l, today));
  });

  it('keeps claims of the last eight days and lifetime counts for ever', () => {
    let l = withClaim(EMPTY_LEDGER, claim('old', 'a', '2026-11-10'), '2026-11-10');
    l = withClaim(l, claim('week', 'a', '2026-11-17'), '2026-11-17');
    l = withClaim(l, claim('now', 'a'), today);
    assert.deepEqual(
      claimsOf(l)
        .map((c) => c.decisionId)
        .sort(),
      ['now', 'week'],
    );
    assert.equal(usageOf(l, today).byCampaignLifetime['a'], 3);
  });

  it('ignores entries it cannot read instead of failing the decision', () => {
    const l = { seq: 1, claims: { garbage: 'x', 'd1/a': `${today} pos offer` }, lifetime: { a: 1 } };
    assert.equal(usageOf(l, today).offersToday, 1);
  });

  it("merges a second customer's ledger into the survivor once: claims of both, lifetime summed, caps as one customer", () => {
    let survivor = withClaim(EMPTY_LEDGER, claim('d1', 'a'), today);
    survivor = withClaim(survivor, claim('d2', 'b', '2026-11-20'), today);
    let absorbed = withClaim(EMPTY_LEDGER, claim('d3', 'a', today, 'app'), today);
    absorbed = withClaim(absorbed, claim('d4', 'c', '2026-11-01'), today); // older than the claims kept
    const merged = withMergedLedger(survivor, absorbed, 'c-b', today);
    assert.equal(merged.seq, survivor.seq + 1);
    assert.ok(hasMerged(merged, 'c-b'));
    assert.deepEqual(Object.keys(merged.claims).sort(), ['d1/a', 'd2/b', 'd3/a']);
    const usage = usageOf(merged, today);
    assert.deepEqual(usage.byCampaignLifetime, { a: 2, b: 1, c: 1 }, 'no marker among the campaigns');
    assert.equal(usage.offersToday, 2);
    assert.deepEqual(usage.byChannelToday, { a: { pos: 1, app: 1 } });
    assert.equal(withMergedLedger(merged, absorbed, 'c-b', today), merged, 'merging again changes nothing');

    // Unlinked: the survivor's own claims and counts again; unlinking again changes nothing.
    const split = withoutMergedLedger(merged, absorbed, 'c-b');
    assert.deepEqual(split.claims, survivor.claims);
    assert.deepEqual(split.lifetime, survivor.lifetime);
    assert.ok(!hasMerged(split, 'c-b'));
    assert.equal(withoutMergedLedger(split, absorbed, 'c-b'), split);
  });
});
