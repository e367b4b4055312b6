// Every metric the SLO rules and the Grafana dashboard read (slo/generated/) is on some service's /metrics
// once one event has gone the whole way, with the labels the rules select on: what the dashboard shows is
// what the services measure.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { projectPath } from '@nunchi/config';
import { Subjects, type OfferMessage } from '@nunchi/contracts/core';
import { decodeJson } from '@nunchi/messaging';
import { parse } from 'yaml';
import { applyCampaign } from '../apps/cli/src/commands/campaigns.js';
import { importCustomers } from '../apps/cli/src/commands/customers.js';
import {
  dadsPurchase,
  request,
  dadRunId,
  seoulTime,
  startHarness,
  waitFor,
  type Harness,
} from './support/harness.js';

/** the nunchi_… series (not recording rules) a PromQL expression reads */
const seriesIn = (expr: string) => [...expr.matchAll(/\bnunchi_[a-zA-Z0-9_]+/g)].map((m) => m[0]);

describe('metrics: what the SLO rules and the dashboard read, every service exports', () => {
  let h: Harness;
  const run = dadRunId();
  const store = `t${run}-store`;
  const dad = { id: `t${run}-dad`, card: `LC-${run}-1` };
  let exposition = '';

  before(async () => {
    h = await startHarness();
    const dir = mkdtempSync(join(tmpdir(), 'nunchi-'));
    const customer = {
      id: dad.id,
      age: 34,
      gender: 'M',
      region: 'Bundang',
      creditTier: 'C',
      loyaltyCard: dad.card,
      attributes: {},
    };
    writeFileSync(join(dir, 'customers.ndjson'), JSON.stringify(customer));
    await importCustomers(h.resources, join(dir, 'customers.ndjson'), { quiet: true });
    await applyCampaign(h.resources, projectPath('campaigns', 'examples', 'bundang-dad-beer.yaml'));
    await waitFor('the campaign to load', async () => {
      const body = (await (await fetch(`${h.services.urls.decision}/v1/campaigns`)).json()) as {
        loaded: Record<string, number>;
      };
      return body.loaded['bundang-dad-beer'] ? true : undefined;
    });
    const offers: OfferMessage[] = [];
    const sub = h.nc.subscribe(Subjects.offer('pos', store), {
      callback: (_e, m) => void offers.push(decodeJson(m.data) as OfferMessage),
    });
    // an offer (a cold customer: a hot-tier miss), a second event of the same customer (a hit), an invalid event
    assert.equal(
      (
        await request(
          h.nc,
          Subjects.inbound('pos', 'purchase'),
          dadsPurchase(`t${run}-e1`, { loyaltyCard: dad.card }, store, seoulTime('19:05')),
        )
      ).ok,
      true,
    );
    await waitFor('the offer', () => Promise.resolve(offers[0]));
    assert.equal(
      (
        await request(
          h.nc,
          Subjects.inbound('pos', 'purchase'),
          dadsPurchase(`t${run}-e2`, { loyaltyCard: dad.card }, store, seoulTime('19:06')),
        )
      ).ok,
      true,
    );
    assert.equal((await request(h.nc, Subjects.inbound('pos', 'purchase'), { id: `t${run}-bad` })).ok, false);
    sub.unsubscribe();
    exposition = await waitFor("both events in every service's metrics", async () => {
      const texts = await Promise.all(
        Object.values(h.services.urls).map(async (url) => (await fetch(`${url}/metrics`)).text()),
      );
      const all = texts.join('\n');
      const settled = [
        'nunchi_context_cache_hits_total',
        'nunchi_analytics_decisions_counted_total',
        'nunchi_event_to_offer_ms_count',
        // a lease renewal comes every quarter of the lease's TTL, on a clock of its own per group: context's is
        // asserted below, so wait for that one, not any group's
        'nunchi_lease_renewal_seconds_count\\{[^}]*group="context"',
      ];
      return settled.every((m) => new RegExp(`^${m}`, 'm').test(all)) ? all : undefined;
    });
  });

  after(async () => {
    await h?.close();
  });

  it('exports every series of slo/generated/prometheus-rules.yaml and grafana-dashboard.json', () => {
    const rules = parse(readFileSync(projectPath('slo/generated/prometheus-rules.yaml'), 'utf8')) as {
      groups: Array<{ rules: Array<{ expr: string }> }>;
    };
    const dashboard = JSON.parse(
      readFileSync(projectPath('slo/generated/grafana-dashboard.json'), 'utf8'),
    ) as { panels: Array<{ targets?: Array<{ expr: string }> }> };
    const exprs = [
      ...rules.groups.flatMap((g) => g.rules.map((r) => r.expr)),
      ...dashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr)),
    ];
    const wanted = new Set(exprs.flatMap(seriesIn));
    assert.ok(wanted.size >= 10, `the rules and the dashboard read ${wanted.size} series`);
    for (const series of wanted)
      assert.match(exposition, new RegExp(`^${series}[{ ]`, 'm'), `${series} on some service's /metrics`);
  });

  it('labels what the rules select on: the SLO bucket bounds, outcomes and codes, campaigns', () => {
    /** a sample of the metric with at least these labels (in this order) and a value ≥ 1 */
    const has = (metric: string, ...labels: string[]) =>
      assert.match(
        exposition,
        new RegExp(
          `^${metric}\\{${labels.map((l) => `[^}]*${l.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`).join('')}[^}]*\\} [1-9]`,
          'm',
        ),
        `${metric}{${labels.join(',')}} ≥ 1`,
      );
    has('nunchi_event_to_offer_ms_bucket', 'outcome="offer"', 'le="+Inf"');
    has('nunchi_event_to_offer_ms_count', 'outcome="offer"');
    has('nunchi_ingestion_events_total', 'outcome="accepted"');
    has('nunchi_ingestion_events_total', 'outcome="rejected"', 'code="VALIDATION_FAILED"');
    has('nunchi_ingestion_ack_ms_count', 'outcome="accepted"');
    has('nunchi_offers_total', 'campaign="bundang-dad-beer"');
    has('nunchi_context_apply_ms_count', 'result="applied"');
    has('nunchi_decide_ms_count', 'outcome="offer"');
    // each hop's wait before its handler: EVENTS (context, analytics) and ENRICHED (decision)
    has('nunchi_consumer_wait_ms_count', 'group="context"', 'stream="EVENTS"');
    has('nunchi_consumer_wait_ms_count', 'group="decision"', 'stream="ENRICHED"');
    has('nunchi_analytics_decisions_counted_total', 'campaign="bundang-dad-beer"', 'outcome="offer"');
    // Cassandra requests by the statement's declared name (the cold customer's profile read; the fold's batch)
    has('nunchi_cassandra_requests_total', 'statement="customers.get"', 'outcome="ok"');
    has('nunchi_cassandra_requests_total', 'statement="batch:customer_events.insert"', 'outcome="ok"');
    // partitions held by lease (the harness runs one replica of each: it holds all of them)
    has('nunchi_partitions_owned', 'group="context"');
    has('nunchi_partitions_owned', 'group="decision"');
    has('nunchi_lease_renewal_seconds_count', 'group="context"');
    // the SLO thresholds are bucket bounds, so Prometheus counts them exactly
    assert.match(exposition, /^nunchi_event_to_offer_ms_bucket\{[^}]*le="100"\}/m);
    assert.match(exposition, /^nunchi_event_to_offer_ms_bucket\{[^}]*le="2000"\}/m);
  });
});
