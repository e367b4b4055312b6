// Offer responses close the loop: a response must answer an offer made to that customer (else a clear error
// and the DLQ), it reaches the customer's context with the decision's campaign, and a dismissal rests the
// campaign for the days the campaign sets (caps.suppressAfterDismissDays).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { decisionIdOf, Headers, Streams, Subjects, type IngestReply } from '@nunchi/contracts/core';
import { applyCampaign } from '../apps/cli/src/commands/campaigns.js';
import { contextOf } from './support/context-tools.js';
import { campaignFile, decisionsOf, purchase, waitLoaded } from './support/decision.js';
import { request, runId, startHarness, waitFor, type Harness } from './support/harness.js';
import { lastSeq, readStream } from './support/streams.js';

describe('offer responses: answered offers only, in context, and a dismissal rests the campaign', () => {
  let h: Harness;
  const run = runId();
  const campaignId = `t${run}-rest`;
  const store = `t${run}-store`;
  const customer = `t${run}-c1`;
  const stranger = `t${run}-c2`;

  const response = (id: string, customerId: string, payload: Record<string, unknown>) => ({
    id: `t${run}-${id}`,
    type: 'offer_response',
    channel: 'app',
    occurredAt: new Date().toISOString(),
    customer: { id: customerId },
    payload,
  });
  const send = (event: { type: string; channel: string }): Promise<IngestReply> =>
    request(h.nc, Subjects.inbound(event.channel, event.type), event);

  before(async () => {
    h = await startHarness();
    await applyCampaign(
      h.resources,
      campaignFile({
        id: campaignId,
        trigger: { types: ['purchase'], stores: [store] },
        caps: { suppressAfterDismissDays: 7 },
      }),
    );
    await waitLoaded([h.services.urls.decision], campaignId, 1);
  });
  after(async () => {
    await h?.close();
  });

  let offered = '';

  it('accepts a dismissal of an offer the customer was made, with the decision’s campaign', async () => {
    const first = purchase(`t${run}-p1`, customer, store);
    assert.equal((await send(first)).ok, true);
    const [decision] = await decisionsOf(h.cql, [first]);
    assert.equal(decision.outcome, 'offer');
    offered = decision.decisionId;

    // the adapter does not name the campaign: ingestion takes it from the stored decision
    assert.deepEqual(await send(response('r1', customer, { decisionId: offered, response: 'dismissed' })), {
      ok: true,
      id: `t${run}-r1`,
      customerId: customer,
    });
    const ctx = await waitFor('the dismissal in the context', async () => {
      const view = await contextOf(h.services.urls.context, customer);
      return view.ctx.responses[campaignId] ? view.ctx : undefined;
    });
    assert.deepEqual(ctx.responses[campaignId], {
      accepted: 0,
      redeemed: 0,
      dismissed: 1,
      daysSinceDismissed: 0,
    });
  });

  it('rests the campaign after the dismissal: the next purchase loses with cap, saying why', async () => {
    const second = purchase(`t${run}-p2`, customer, store);
    assert.equal((await send(second)).ok, true);
    const [decision] = await decisionsOf(h.cql, [second]);
    assert.equal(decision.outcome, 'none');
    const loss = decision.losses.find((l) => l.campaignId === campaignId);
    assert.equal(loss?.reason, 'cap');
    assert.match(loss?.detail ?? '', /dismissed this campaign's offer today, suppressAfterDismissDays 7/);
  });

  it('refuses a response to an unknown decision, to another customer’s, or naming another campaign — each kept in the DLQ', async () => {
    const from = await lastSeq(h.nc, Streams.DLQ.name);
    const refused = [
      [
        response('bad-1', customer, {
          decisionId: decisionIdOf({ channel: 'pos', id: `t${run}-never` }),
          response: 'accepted',
        }),
        'payload.decisionId',
      ],
      [response('bad-2', stranger, { decisionId: offered, response: 'redeemed' }), 'payload.decisionId'],
      [
        response('bad-3', customer, { decisionId: offered, response: 'accepted', campaignId: 'another' }),
        'payload.campaignId',
      ],
    ] as const;
    for (const [event, path] of refused) {
      const reply = await send(event);
      assert.equal(reply.ok, false, event.id);
      if (!reply.ok) {
        assert.equal(reply.error.code, 'UNKNOWN_DECISION');
        assert.deepEqual(
          reply.error.details.map((d) => d.path),
          [path],
        );
      }
    }
    const kept = await waitFor('three DLQ records', async () => {
      const records = await readStream(h.nc, Streams.DLQ.name, Subjects.dlq('ingestion'), from + 1);
      const ours = records.filter((m) =>
        refused.some(([e]) => new TextDecoder().decode(m.data).includes(e.id)),
      );
      return ours.length === 3 ? ours : undefined;
    });
    assert.ok(kept.every((m) => (m.headers?.get(Headers.dlqReason) ?? '').startsWith('UNKNOWN_DECISION')));
  });
});
