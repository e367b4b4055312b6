/**
 * What deciding one event costs the decision service: the whole use case (reads, evaluate, claims, offer,
 * record, DECISIONS publish) against the real Cassandra and NATS, one event at a time after a warm-up.
 *
 *   npm run -s build && CASSANDRA_KEYSPACE=nunchi_dec NATS_URL=nats://127.0.0.1:14251 \
 *     node dist/apps/decision/bench/decide-cost.js [--events 300]
 *
 * Cases (each on its own fresh customers and campaigns):
 *   untriggered — a visit no campaign's trigger takes: acknowledged, nothing recorded (most events)
 *   none     — a purchase some campaign triggers on but none wants (the example campaigns loaded)
 *   offer    — a purchase that wins a capped, budgeted campaign, a new customer each time
 *   capped   — the same customer again after the cap is reached: candidates, but no offer
 * Prints per-event latency percentiles, this process's CPU per event (the decision service's share; not
 * Cassandra's or NATS's) and where the time goes (mean ms per repository call).
 */
import { readFileSync, readdirSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import {
  connectCassandra,
  CustomerKeyRepository,
  CustomerKeyring,
  DecisionRepository,
} from '@nunchi/cassandra';
import { identityKeys, loadConfig, projectPath } from '@nunchi/config';
import { emptySnapshot } from '@nunchi/context-model';
import { Headers } from '@nunchi/contracts/core';
import type { AcceptedEvent, EnrichedMessage } from '@nunchi/contracts';
import { connectNats, applyStreams, Publisher, type Delivery } from '@nunchi/messaging';
import { CampaignSet, compileCampaign, parseCampaign } from '@nunchi/rules';
import { BudgetClaims } from '../src/budget-claims.js';
import type { CampaignSetHolder } from '@nunchi/cassandra/nest';
import { ContactClaims } from '../src/contact-claims.js';
import { OfferChooser } from '../src/choose-offer.js';
import { DecideUseCase } from '../src/decide.usecase.js';

export interface CaseFigures {
  case: string;
  events: number;
  /** milliseconds per event */
  p50Ms: number;
  p99Ms: number;
  meanMs: number;
  /** CPU milliseconds per event of this process (user + system), the decision service's own cost */
  cpuMs: number;
  /** milliseconds from the start of the decision to the offer leaving for the channel (offers only) */
  toOfferP50Ms?: number;
  toOfferP99Ms?: number;
  /** repository method → mean milliseconds per event spent in it (calls per event in brackets) */
  breakdown: Record<string, string>;
}

const REPOSITORY_CALLS = ['findById', 'contacts', 'saveContacts', 'claimBudgets', 'record'] as const;

export async function runDecideCost(options: { events?: number } = {}): Promise<CaseFigures[]> {
  const n = options.events ?? 300;
  const config = loadConfig('decision', { ...process.env, OTEL_TRACES_EXPORTER: 'none' });
  const cql = await connectCassandra(config.cassandra);
  const nc = await connectNats(config.nats, 'bench-decide-cost');
  await applyStreams(nc, config.nats);
  const run = Date.now().toString(36);
  const examples = readdirSync(projectPath('campaigns', 'examples')).map((f) =>
    compileCampaign(parseCampaign(readFileSync(projectPath('campaigns', 'examples', f), 'utf8')), 1),
  );
  const receipt = compileCampaign(
    parseCampaign({
      id: `bench-${run}`,
      name: 'bench',
      trigger: { types: ['purchase'], channels: ['pos'], stores: [`bench-${run}`] },
      offers: [{ id: 'thanks', title: 'Thanks', value: 1000 }],
      caps: { perCustomerPerDay: 1 },
      budget: { maxOffers: 1_000_000 },
      schedule: { timezone: 'Asia/Seoul' },
    }),
    1,
  );
  const set = new CampaignSet([...examples, receipt], {
    maxOffersPerCustomerPerDay: config.domain.maxOffersPerCustomerPerDay,
  });

  const repo = new DecisionRepository(cql);
  const spent = new Map<string, { ms: number; calls: number }>();
  for (const name of REPOSITORY_CALLS) {
    if (typeof repo[name] !== 'function') continue; // a method another version of the repository lacks
    const original = (repo[name] as (...a: unknown[]) => Promise<unknown>).bind(repo);
    (repo as unknown as Record<string, unknown>)[name] = async (...args: unknown[]) => {
      const t = performance.now();
      try {
        return await original(...args);
      } finally {
        const s = spent.get(name) ?? { ms: 0, calls: 0 };
        s.ms += performance.now() - t;
        s.calls++;
        spent.set(name, s);
      }
    };
  }
  const publisher = new Publisher(nc);
  let offerSentAt = 0;
  const emit = publisher.emit.bind(publisher);
  publisher.emit = (...args) => {
    offerSentAt = performance.now();
    emit(...args);
  };
  const useCase = new DecideUseCase(
    config,
    { current: set } as CampaignSetHolder,
    repo,
    new OfferChooser(config, new ContactClaims(repo), new BudgetClaims(repo)),
    publisher,
    // The events below are in the clear form of before sealing: opening a sealed one adds tens of µs
    // (libs/sealing customer-data-key.spec.ts prints the figure) and, for a new customer, one key read.
    new CustomerKeyring(new CustomerKeyRepository(cql), identityKeys(config), { maxEntries: 1_000 }),
  );

  const delivery = (
    id: string,
    customerId: string,
    storeId: string,
    type: AcceptedEvent['type'] = 'purchase',
  ): Delivery<EnrichedMessage> => {
    const now = Date.now();
    const event: AcceptedEvent = {
      id,
      type,
      channel: 'pos',
      occurredAt: new Date(now).toISOString(),
      occurredAtMs: now,
      receivedAtMs: now,
      customerId,
      storeId,
      payload: {
        amount: 12_000,
        currency: 'KRW',
        items: [{ sku: 's', category: 'snacks', quantity: 1, unitPrice: 12_000 }],
      },
    };
    return {
      body: { event, customer: null, ctx: emptySnapshot(customerId, now) },
      subject: 'mkt.enriched.0',
      seq: 1,
      deliveryCount: 1,
      redelivered: false,
      header: (h) => (h === Headers.receivedAt ? String(now) : undefined),
    };
  };

  const cases: Array<[string, (i: number) => Delivery<EnrichedMessage>]> = [
    ['untriggered', (i) => delivery(`bench-${run}-u${i}`, `bench-${run}-u${i}`, 'elsewhere', 'visit')],
    ['none', (i) => delivery(`bench-${run}-n${i}`, `bench-${run}-n${i}`, 'elsewhere')],
    ['offer', (i) => delivery(`bench-${run}-o${i}`, `bench-${run}-o${i}`, `bench-${run}`)],
    ['capped', (i) => delivery(`bench-${run}-c${i}`, `bench-${run}-o0`, `bench-${run}`)],
  ];
  const out: CaseFigures[] = [];
  try {
    for (const [name, make] of cases) {
      for (let i = 0; i < 30; i++) await useCase.execute(make(-1 - i)); // warm-up: prepared statements, JIT
      spent.clear();
      const latencies: number[] = [];
      const toOffer: number[] = [];
      const cpu = process.cpuUsage();
      for (let i = 0; i < n; i++) {
        const d = make(i);
        offerSentAt = 0;
        const t = performance.now();
        await useCase.execute(d);
        latencies.push(performance.now() - t);
        if (offerSentAt) toOffer.push(offerSentAt - t);
      }
      const used = process.cpuUsage(cpu);
      latencies.sort((a, b) => a - b);
      toOffer.sort((a, b) => a - b);
      const round = (x: number) => Math.round(x * 100) / 100;
      out.push({
        case: name,
        events: n,
        p50Ms: round(latencies[Math.floor(n / 2)]),
        p99Ms: round(latencies[Math.min(n - 1, Math.floor(n * 0.99))]),
        meanMs: round(latencies.reduce((a, b) => a + b, 0) / n),
        cpuMs: round((used.user + used.system) / 1000 / n),
        ...(toOffer.length
          ? {
              toOfferP50Ms: round(toOffer[Math.floor(toOffer.length / 2)]),
              toOfferP99Ms: round(toOffer[Math.min(toOffer.length - 1, Math.floor(toOffer.length * 0.99))]),
            }
          : {}),
        breakdown: Object.fromEntries(
          [...spent].map(([k, v]) => [k, `${round(v.ms / n)} ms (${round(v.calls / n)}×)`]),
        ),
      });
    }
  } finally {
    await nc.drain();
    await cql.shutdown();
  }
  return out;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const i = process.argv.indexOf('--events');
  for (const f of await runDecideCost({ events: i > 0 ? Number(process.argv[i + 1]) : undefined }))
    console.log(JSON.stringify(f));
}
