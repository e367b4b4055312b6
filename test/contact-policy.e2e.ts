// The contact policy holds for every campaign, whatever its CEL: consent per channel (import and
// profile_update), and quiet hours per channel (NUNCHI_QUIET_HOURS), each stated in the decision's losses.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Subjects, type DecisionRecord, type IngestReply } from '@nunchi/contracts/core';
import { applyCampaign } from '../apps/cli/src/commands/campaigns.js';
import { importCustomers } from '../apps/cli/src/commands/customers.js';
import { contextOf } from './support/context-tools.js';
import { campaignFile, decisionsOf, purchase, waitLoaded } from './support/decision.js';
import { request, runId, startHarness, waitFor, type Harness } from './support/harness.js';

/** Quiet hours on the kiosk channel around the current Seoul time: an hour either side. */
function quietNow(): string {
  const seoulMinute = Math.floor(((Date.now() + 9 * 3_600_000) % 86_400_000) / 60_000);
  const hhmm = (m: number) => {
    const x = ((m % 1440) + 1440) % 1440;
    return `${String(Math.floor(x / 60)).padStart(2, '0')}:${String(x % 60).padStart(2, '0')}`;
  };
  return `kiosk=${hhmm(seoulMinute - 60)}-${hhmm(seoulMinute + 60)}`;
}

describe('contact policy: consent per channel and quiet hours, for every campaign', () => {
  let h: Harness;
  const run = runId();
  const campaignId = `t${run}-any`;
  const store = `t${run}-store`;
  const quietHours = quietNow();

  const send = (event: { type: string; channel: string }): Promise<IngestReply> =>
    request(h.nc, Subjects.inbound(event.channel, event.type), event);
  const decide = async (id: string, customerId: string, channel = 'pos'): Promise<DecisionRecord> => {
    const event = purchase(`t${run}-${id}`, customerId, store, 12_000, channel);
    const reply = await send(event);
    assert.equal(reply.ok, true, JSON.stringify(reply));
    return (await decisionsOf(h.cql, [event]))[0];
  };
  const lossOf = (d: DecisionRecord) => d.losses.find((l) => l.campaignId === campaignId);

  before(async () => {
    h = await startHarness({ NUNCHI_QUIET_HOURS: quietHours });
    const dir = mkdtempSync(join(tmpdir(), 'nunchi-consent-'));
    const lines = [
      { id: `t${run}-yes`, marketingConsent: true },
      { id: `t${run}-app-only-no`, marketingConsent: true, channelConsent: { app: false } },
      { id: `t${run}-pos-no`, marketingConsent: true, channelConsent: { pos: false } },
      { id: `t${run}-later-no`, marketingConsent: true },
    ];
    writeFileSync(join(dir, 'customers.ndjson'), lines.map((l) => JSON.stringify(l)).join('\n'));
    await importCustomers(h.resources, join(dir, 'customers.ndjson'), { quiet: true });
    await applyCampaign(
      h.resources,
      campaignFile({
        id: campaignId,
        trigger: { types: ['purchase'], channels: ['pos', 'kiosk'], stores: [store] },
      }),
    );
    await waitLoaded([h.services.urls.decision], campaignId, 1);
  });
  after(async () => {
    await h?.close();
  });

  it('offers where the customer consented, and on a channel whose own consent is not refused', async () => {
    assert.equal((await decide('p1', `t${run}-yes`)).outcome, 'offer');
    assert.equal((await decide('p2', `t${run}-app-only-no`)).outcome, 'offer');
  });

  it('offers nothing on a channel the customer refused (import), and says so', async () => {
    const d = await decide('p3', `t${run}-pos-no`);
    assert.equal(d.outcome, 'none');
    assert.deepEqual(
      [lossOf(d)?.reason, lossOf(d)?.detail],
      ['contact_policy', 'the customer refused marketing on pos'],
    );
  });

  it('takes a refusal sent later as a profile_update, merged with the stored consent', async () => {
    const customerId = `t${run}-later-no`;
    const update = {
      id: `t${run}-u1`,
      type: 'profile_update',
      channel: 'app',
      occurredAt: new Date().toISOString(),
      customer: { id: customerId },
      payload: { channelConsent: { pos: false } },
    };
    assert.equal((await send(update)).ok, true);
    const profile = await waitFor('the refusal in the profile', async () => {
      const view = await contextOf(h.services.urls.context, customerId);
      return view.profile?.channelConsent?.['pos'] === false ? view.profile : undefined;
    });
    assert.equal(profile.marketingConsent, true);
    const d = await decide('p4', customerId);
    assert.equal(lossOf(d)?.reason, 'contact_policy');
  });

  it(`keeps the channel's quiet hours (NUNCHI_QUIET_HOURS=${quietHours}) and no other`, async () => {
    const quiet = await decide('p5', `t${run}-yes`, 'kiosk');
    assert.equal(quiet.outcome, 'none');
    assert.match(
      lossOf(quiet)?.detail ?? '',
      /^quiet hours on kiosk \(\d\d:\d\d-\d\d:\d\d, now \d\d:\d\d Asia\/Seoul\)$/,
    );
  });
});
