import { createWriteStream, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { projectPath } from '@nunchi/config';
import { decisionIdOf, SYSTEM_CHANNEL, type DecisionRecord, type EventRef } from '@nunchi/contracts/core';
import { absenceEventId, compileCampaign, parseCampaign } from '@nunchi/rules';
import { Resources } from '../apps/cli/src/resources.js';
import { applyCampaign } from '../apps/cli/src/commands/campaigns.js';
import { importCustomers } from '../apps/cli/src/commands/customers.js';
import { sendEvents } from '../apps/cli/src/commands/events.js';
import { DEMO_STEPS, demoDay } from './demo-script.js';
import { developmentModeUnlessConfigured } from './dev-mode.js';
import { ensureInfra } from './infra.js';
import { freshKeyspace, startOwnNats } from './sandbox.js';
import { applyStreamLayout } from '../apps/cli/src/commands/streams.js';
import { startServices, type RunningServices } from './services.js';
import { LOCAL_ADMIN_KEY_FILE } from './local-admin.js';

const say = (line = '') => process.stdout.write(`${line}\n`);
/** the console's path on the analytics service (apps/analytics/src/console/serve-console.ts) */
const CONSOLE_PATH = '/console/';
const ZIPKIN_UI = 'http://127.0.0.1:9411/zipkin/traces/';
/** the demo's own NATS server (NUNCHI_DEMO_NATS_PORT: another, on a machine several people share) */
const DEMO_NATS_PORT = Number(process.env.NUNCHI_DEMO_NATS_PORT ?? 14298);
/** the demo's own keyspace, dropped and created afresh on each run (NUNCHI_DEMO_KEYSPACE: another) */
const DEMO_KEYSPACE = process.env.NUNCHI_DEMO_KEYSPACE ?? 'nunchi_demo';

async function main(): Promise<void> {
  const started = Date.now();
  say('Nunchi demo — one day at a Bundang hypermarket\n');
  developmentModeUnlessConfigured((line) => say(`   ${line}\n`));

  say('1. infrastructure (Cassandra, NATS, Zipkin)');
  await ensureInfra((line) => say(`   ${line}`), ['cassandra', 'zipkin']); // NATS: the demo's own, below
  // A keyspace and NATS server of the demo's own, fresh each run: the same day plays the same way every
  // time, and nothing else on the machine mixes into its decisions or statistics.
  const nats = await startOwnNats(DEMO_NATS_PORT, (line) => say(`   ${line}`));
  const env = { CASSANDRA_KEYSPACE: DEMO_KEYSPACE, NATS_URL: nats.url };
  const resources = new Resources({ ...process.env, ...env });
  let services: RunningServices | undefined;
  try {
    await freshKeyspace(resources.config.cassandra);
    await applyStreamLayout(resources); // the migration step's streams: services only check them
    say(
      `2. a fresh keyspace ${resources.config.cassandra.keyspace} (migrated) and a NATS server of the demo's own at ${nats.url}`,
    );

    mkdirSync(projectPath('.nunchi', 'logs'), { recursive: true });
    const logFile = createWriteStream(projectPath('.nunchi', 'logs', 'demo-services.log'), { flags: 'a' });
    services = await startServices({ env, log: (service, line) => logFile.write(`${service} ${line}\n`) });
    say('3. services: ingestion, context, decision, analytics ready (logs: .nunchi/logs/demo-services.log)');
    say(
      `   development mode: a local admin API key is in ${LOCAL_ADMIN_KEY_FILE} — every HTTP call needs a key; the console logs in with this one`,
    );

    const customers = await importCustomers(resources, projectPath('demo', 'customers.ndjson'), {
      quiet: true,
    });
    say(`4. customers: ${customers.imported} imported`);
    for (const file of [
      'bundang-dad-beer.yaml',
      'app-winback-30d.yaml',
      'web-wine-cheese-cross-sell.yaml',
      'bundang-formula-beer-ko.yaml',
    ]) {
      const applied = await applyCampaign(resources, projectPath('campaigns', 'examples', file));
      say(`   campaign ${applied.id} v${applied.version}${applied.changed ? '' : ' (unchanged)'}`);
    }
    await waitCampaignsLoaded(services.urls.decision, 'bundang-dad-beer');
    await waitCampaignsLoaded(services.urls.decision, 'bundang-formula-beer-ko');

    const day = demoDay(Date.now());
    say(`\n5. the day of ${day} (Asia/Seoul), event by event:`);
    const latencies: number[] = [];
    let offers = 0;
    let rejected = 0;
    let founding: DecisionRecord | undefined;
    for (const [i, step] of DEMO_STEPS.entries()) {
      const event = {
        id: `demo-${day}-${step.at.replace(':', '')}-${i}`,
        occurredAt: `${day}T${step.at}:00+09:00`,
        ...step.event,
      };
      const sent = await sendEvents(resources, [{ line: i + 1, value: event }], { quiet: true });
      say(`\n   ${step.at}  ${describe(event)}`);
      say(`          expected: ${step.expect}`);
      if (sent.rejected.length) {
        rejected++;
        say(`          REJECTED ${sent.rejected[0].code}: ${sent.rejected[0].details}`);
        continue;
      }
      const decision = await waitDecision(services.urls.decision, {
        channel: String(step.event['channel']),
        id: event.id,
      });
      latencies.push(decision.latencyMs);
      if (decision.outcome === 'offer') offers++;
      if (step.at === '19:05') founding = decision;
      say(
        `          ${sent.duplicates ? '(sent before: the stored decision) ' : ''}${describeDecision(decision)}`,
      );
    }

    say('\n6. the till sends the 19:05 purchase again (a retry): ');
    const again = DEMO_STEPS.findIndex((s) => s.at === '19:05');
    const retry = await sendEvents(
      resources,
      [
        {
          line: 1,
          value: {
            id: `demo-${day}-1905-${again}`,
            occurredAt: `${day}T19:05:00+09:00`,
            ...DEMO_STEPS[again].event,
          },
        },
      ],
      { quiet: true },
    );
    say(
      `   accepted as a duplicate: ${retry.duplicates === 1 ? 'yes — one event, one decision, one offer' : 'NO (unexpected)'}`,
    );

    if (founding) {
      const services4 = await traceServices(founding.traceId);
      say(`\n7. trace of the founding decision: ${ZIPKIN_UI}${founding.traceId}`);
      say(`   services in the trace: ${services4.join(', ') || '(spans not exported yet)'}`);
    }
    const stats = (await (await fetch(`${services.urls.analytics}/v1/stats`)).json()) as {
      campaigns: Array<{ campaignId: string; decisions: number; offers: number; control: number }>;
    };
    const bundang = stats.campaigns.find((c) => c.campaignId === 'bundang-dad-beer');
    if (bundang)
      say(
        `\n8. analytics: bundang-dad-beer — ${bundang.decisions} decisions, ${bundang.offers} offers, ${bundang.control} in the control group`,
      );

    await showPatterns(resources, services, day);

    latencies.sort((a, b) => a - b);
    say(
      `\ndemo: ${DEMO_STEPS.length} events, ${offers} offers, ${rejected} rejected; event-to-decision ${latencies.length ? `${latencies[0]}–${latencies[latencies.length - 1]} ms` : 'n/a'}; ${((Date.now() - started) / 1000).toFixed(0)} s in all`,
    );
    await showConsole(`${services.urls.analytics}${CONSOLE_PATH}`);
  } finally {
    await services?.stop();
    await resources.close();
    nats.stop();
  }
}

/** Waits until the context service folds the stateful patterns of these campaigns (it polls every 5 s). */
async function waitPatternsLoaded(contextUrl: string, ids: string[]): Promise<void> {
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    const body = (await (await fetch(`${contextUrl}/v1/context/stats`)).json()) as {
      patternCampaigns?: string[];
    };
    if (ids.every((id) => body.patternCampaigns?.includes(id))) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`the context service did not load the patterns of ${ids.join(', ')} within 15 s`);
}

/**
 * Event patterns (docs/patterns.md): a sequence — formula looked at in the app, then a store visit within
 * 2 h — and an absence — a cart without a purchase; the example waits an hour, the demo's copy 5 seconds, so
 * its durable timer fires while you watch.
 */
async function showPatterns(resources: Resources, services: RunningServices, day: string): Promise<void> {
  say('\n9. event patterns (docs/patterns.md), for c-000099 (app user, consented):');
  const sequence = await applyCampaign(
    resources,
    projectPath('campaigns', 'examples', 'formula-view-then-store-visit.yaml'),
  );
  const absenceSource = readFileSync(projectPath('campaigns', 'examples', 'cart-abandoned-1h.yaml'), 'utf8')
    .replace('id: cart-abandoned-1h', 'id: cart-abandoned-demo')
    .replace('within: 1h', 'within: 5s');
  const absence = compileCampaign(parseCampaign(absenceSource, { timeZone: 'Asia/Seoul' }));
  const dir = projectPath('.nunchi');
  mkdirSync(dir, { recursive: true });
  const absenceFile = `${dir}/cart-abandoned-demo.yaml`;
  writeFileSync(absenceFile, absenceSource);
  await applyCampaign(resources, absenceFile);
  say(
    `   campaigns ${sequence.id} (sequence, 2 h) and ${absence.id} (absence: cart-abandoned-1h with 5 s instead of 1 h)`,
  );
  await waitCampaignsLoaded(services.urls.decision, sequence.id);
  await waitCampaignsLoaded(services.urls.decision, absence.id);
  await waitPatternsLoaded(services.urls.context, [sequence.id, absence.id]);

  const send = async (event: Record<string, unknown>) => {
    const sent = await sendEvents(resources, [{ line: 1, value: event }], { quiet: true });
    if (sent.rejected.length)
      throw new Error(`demo event ${String(event['id'])} rejected: ${sent.rejected[0].details}`);
  };
  const customer = { deviceId: 'dev-a1b2c3' };
  const view = {
    id: `demo-${day}-view`,
    type: 'product_view',
    channel: 'app',
    occurredAt: `${day}T19:50:00+09:00`,
    customer,
    payload: { sku: '880123', category: 'infant_formula', price: 32000 },
  };
  const visit = {
    id: `demo-${day}-visit`,
    type: 'visit',
    channel: 'pos',
    storeId: 'bundang-01',
    occurredAt: `${day}T20:05:00+09:00`,
    customer,
    payload: {},
  };
  await send(view);
  say('   19:50  app product_view of infant_formula');
  await send(visit);
  say('   20:05  visit at bundang-01');
  say(`          ${describeDecision(await waitDecision(services.urls.decision, visit))}`);

  const cart = {
    id: `demo-${day}-cart`,
    type: 'cart',
    channel: 'app',
    occurredAt: new Date().toISOString(),
    customer,
    payload: { action: 'add', sku: '880777', category: 'diapers', quantity: 1, unitPrice: 19000 },
  };
  await send(cart);
  say('   now    app cart: diapers — and no purchase; the timer is due in 5 s');
  if (absence.pattern?.kind !== 'absence')
    throw new Error('cart-abandoned-demo: an absence pattern expected');
  const fired = await waitDecision(services.urls.decision, {
    channel: SYSTEM_CHANNEL,
    id: absenceEventId(absence.pattern.key, cart.id),
  });
  say(
    `   +${((Date.parse(fired.decidedAt) - Date.parse(cart.occurredAt)) / 1000).toFixed(1)} s  the timer fired: ${describeDecision(fired)}`,
  );
}

/**
 * The demo's last words: the console's address. In a terminal the services stay up for it until Ctrl-C;
 * otherwise (CI, a pipe) the demo ends and says how to look at it.
 */
async function showConsole(url: string): Promise<void> {
  if (!process.stdin.isTTY || !process.stdout.isTTY) {
    say(
      `\nconsole: ${url} (up while the demo's services run: run \`npm run demo\` in a terminal to keep them until Ctrl-C)`,
    );
    return;
  }
  say(`\nconsole: ${url} — open it in a browser; Ctrl-C stops the services`);
  await new Promise<void>((resolve) => process.once('SIGINT', () => resolve()));
}

function describe(event: Record<string, unknown>): string {
  const payload = event['payload'] as { amount?: number; items?: Array<{ category: string }> };
  const who = Object.values(event['customer'] as Record<string, string>)[0];
  const categories = [...new Set(payload.items?.map((i) => i.category))].join('+');
  const storeName = event['storeName'] as string | undefined;
  const store = storeName ? `${event['storeId'] as string} (${storeName})` : (event['storeId'] as string);
  return `${who} ${event['type']} ${payload.amount?.toLocaleString('en-US')} KRW (${categories}) at ${store}`;
}

function describeDecision(d: DecisionRecord): string {
  const why = d.losses
    .map((l) => `${l.campaignId}: ${l.reason}${l.detail ? ` (${l.detail})` : ''}`)
    .join('; ');
  switch (d.outcome) {
    case 'offer':
      return `→ OFFER ${d.offerId} "${d.title}" from ${d.campaignId} v${d.campaignVersion} to ${d.customerId}, decided in ${d.latencyMs} ms`;
    case 'control':
      return `→ CONTROL group of ${d.campaignId} (would have been ${d.offerId}), ${d.latencyMs} ms`;
    case 'late':
      return `→ LATE (${d.latencyMs} ms), nothing sent`;
    default:
      return `→ no offer, ${d.latencyMs} ms — ${why || 'no campaign considered: the trigger and guard index ruled every one out (region, categories, …)'}`;
  }
}

async function waitDecision(decisionUrl: string, event: EventRef): Promise<DecisionRecord> {
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    const response = await fetch(`${decisionUrl}/v1/decisions/${decisionIdOf(event)}`);
    if (response.ok) return (await response.json()) as DecisionRecord;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`no decision for ${event.id} within 15 s (see .nunchi/logs/demo-services.log)`);
}

async function waitCampaignsLoaded(decisionUrl: string, id: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    const body = (await (await fetch(`${decisionUrl}/v1/campaigns`)).json()) as {
      loaded: Record<string, number>;
    };
    if (body.loaded[id]) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`the decision service did not load ${id} within 10 s`);
}

/** Asks Zipkin's own API which services the trace holds (spans are exported in batches: wait a little). */
async function traceServices(traceId: string): Promise<string[]> {
  const deadline = Date.now() + 10_000;
  let names: string[] = [];
  while (Date.now() < deadline) {
    const response = await fetch(`http://127.0.0.1:9411/api/v2/trace/${traceId}`).catch(() => undefined);
    if (response?.ok) {
      const spans = (await response.json()) as Array<{ localEndpoint?: { serviceName?: string } }>;
      names = [...new Set(spans.map((s) => s.localEndpoint?.serviceName ?? ''))].filter(Boolean).sort();
      if (names.length >= 4) return names;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  return names;
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`\ndemo failed: ${(error as Error).message}\n`);
    process.exit(1);
  },
);
