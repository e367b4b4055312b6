import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { CustomerKeyRepository, historyRepository, writeBatched } from '@nunchi/cassandra';
import type { AcceptedEvent } from '@nunchi/contracts';
import { Subjects, type LagReport } from '@nunchi/contracts/core';
import { encodeJson } from '@nunchi/messaging';
import { isHeldOut, type DecisionLine, type SimulationReport } from '@nunchi/rules';
import { prng } from '@nunchi/testing';
import { applyCampaign, setCampaignState } from '../apps/cli/src/commands/campaigns.js';
import { simulateCampaign } from '../apps/cli/src/commands/simulate.js';
import { runId, startHarness, type Harness } from './support/harness.js';
import { campaignFile, countBy, decisionsOf, purchase, sendAll, waitLoaded } from './support/decision.js';

const cli = join(dirname(fileURLToPath(import.meta.url)), '../apps/cli/src/main.js');

/** Runs the nunchi CLI with the harness's environment; its exit code and output. */
function nunchi(
  args: string[],
  env: Record<string, string>,
  onStart?: (child: ReturnType<typeof spawn>) => void,
): Promise<{ code: number | null; signal: string | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [cli, ...args], { env: { ...process.env, ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
    onStart?.(child);
  });
}

/**
 * A report as compared across shard counts: money totals rounded to the cent (shards add their sums in
 * another order), objects with their keys in order.
 */
function normalised(r: SimulationReport): unknown {
  const cents = (x: number) => Math.round(x * 100) / 100;
  return JSON.parse(
    JSON.stringify(r, (key, value: unknown) => {
      if (typeof value === 'number' && ['value', 'cost', 'valueLost', 'totalCost'].includes(key))
        return cents(value);
      if (value && typeof value === 'object' && !Array.isArray(value))
        return Object.fromEntries(Object.entries(value).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
      return value;
    }),
  );
}

/**
 * Simulation on history reproduces live (issue 10, item 3): a campaign with a per-day cap, a small budget
 * and a holdout competes live with two other campaigns over a generated day of repeat purchases; then
 * `campaigns simulate <id> --with-live` over the same period decides every event as live did.
 */
describe('campaigns simulate: exact on a day that ran live', () => {
  let h: Harness;
  const run = runId();
  const shop = `t${run}-sim`;
  // A generous deadline: nothing may be `late` (a late decision is the one thing simulation cannot repeat).
  const env = { NUNCHI_SLA_MS: '600000', NUNCHI_MAX_OFFERS_PER_CUSTOMER_PER_DAY: '3' };
  const main = `t${run}-main`;
  const rival = `t${run}-rival`;
  const big = `t${run}-big`;
  const dir = mkdtempSync(join(tmpdir(), 'nunchi-simulate-'));
  /** the live day, set by the first test: [from, to] as ISO instants */
  let day: [string, string] | undefined;

  before(async () => {
    h = await startHarness(env);
  });

  after(async () => {
    for (const id of [main, rival, big])
      await setCampaignState(h.resources, id, 'ended').catch(() => undefined);
    await h?.close();
  });

  it('reproduces the live decisions: same events, same offers, same outcomes', async () => {
    const fromMs = Date.now() - 1_000;
    const apply = async (definition: Parameters<typeof campaignFile>[0]) => {
      const result = await applyCampaign(h.resources, campaignFile(definition));
      await waitLoaded([h.services.urls.decision], definition.id, result.version);
    };
    const trigger = { types: ['purchase' as const], channels: ['pos'], stores: [shop] };
    await apply({
      id: main,
      trigger,
      priority: 2,
      holdoutPercent: 20,
      caps: { perCustomerPerDay: 2 },
      budget: { maxOffers: 6 },
      offers: [
        { id: 'big', title: 'Big', value: 3000, when: 'event.amount >= 20000' },
        { id: 'small', title: 'Small', value: 1000 },
      ],
    });
    await apply({
      id: rival,
      trigger,
      priority: 1,
      caps: { perCustomerPerDay: 3 },
      condition: 'event.amount >= 8000',
      offers: [{ id: 'r', title: 'Rival', value: 500 }],
    });
    await apply({
      id: big,
      trigger,
      priority: 3,
      caps: { perCustomerLifetime: 1 },
      // Needs the context: only from the customer's third purchase of the day at this shop.
      condition: 'event.amount >= 25000 && ctx.thisStore.d7.purchases >= 3',
      offers: [{ id: 'b', title: 'Big spender', value: 5000 }],
    });

    // One customer in main's control group, five in its treatment group; repeat purchases.
    const candidates = Array.from({ length: 200 }, (_, i) => `t${run}-c${i}`);
    const held = candidates.filter((c) => isHeldOut(main, c, 20)).slice(0, 1);
    const treated = candidates.filter((c) => !isHeldOut(main, c, 20)).slice(0, 5);
    const customers = [...held, ...treated];
    const random = prng(Number.parseInt(run, 16));
    // Each customer buys three times early on (caps and the holdout bite), then at random.
    const events = Array.from({ length: 36 }, (_, i) => {
      const customer =
        i < 18 ? customers[i % customers.length] : customers[Math.floor(random() * customers.length)];
      const amount = [3_000, 9_000, 22_000, 30_000][Math.floor(random() * 4)];
      return purchase(`t${run}-e${i}`, customer, shop, amount);
    });
    // One at a time, each decided before the next is sent: live's order is the order of receipt.
    for (const e of events) {
      await sendAll(h.nc, [e], 1);
      await decisionsOf(h.cql, [e]);
    }
    const live = await decisionsOf(h.cql, events);
    const outcomes = countBy(live, (d) => d.outcome);
    assert.equal(outcomes['late'], undefined, 'no live decision was late');
    // The day is rich enough to prove something: every limit bit and every campaign won somewhere.
    assert.ok(outcomes['control'] > 0, JSON.stringify(outcomes));
    assert.ok(live.some((d) => d.losses.some((l) => l.campaignId === main && l.reason === 'budget')));
    assert.ok(live.some((d) => d.losses.some((l) => l.campaignId === main && l.reason === 'cap')));
    assert.ok(live.some((d) => d.campaignId === rival && d.outcome === 'offer'));
    const budgetBefore = await h.cql.execute(
      'SELECT offers_used FROM campaign_budget WHERE campaign_id = ? LIMIT 1',
      [main],
      { prepare: true },
    );

    // A customer whose history is sealed under a data key wrapped under an identity key this process lacks
    // (a rotation's old key not configured): left out of the simulation, and the report says so.
    const locked = `t${run}-locked`;
    const history = historyRepository(h.cql, h.config.domain);
    const seeded = new CustomerKeyRepository(h.cql).seedWrite(
      locked,
      { id: 'gone', secret: `a-key-not-configured-${run}` },
      new Date(),
    );
    const inbound = purchase(`t${run}-locked-e`, locked, shop, 30_000);
    const lockedEvent: AcceptedEvent = {
      id: inbound.id,
      type: 'purchase',
      channel: inbound.channel,
      occurredAt: inbound.occurredAt,
      storeId: shop,
      payload: inbound.payload,
      customerId: locked,
      occurredAtMs: Date.parse(inbound.occurredAt),
      receivedAtMs: Date.now(),
    };
    assert.deepEqual(
      await writeBatched(h.cql, [
        [seeded.write, ...history.historyWrites([lockedEvent], seeded.key, h.config.domain.timeZone)],
      ]),
      [],
    );

    const out = join(dir, 'decisions.ndjson');
    day = [new Date(fromMs).toISOString(), new Date(Date.now() + 1_000).toISOString()];
    const { report, written } = await simulateCampaign(h.resources, main, {
      from: day[0],
      to: day[1],
      withLive: true,
      out,
    });
    const lines = readFileSync(out, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as DecisionLine);
    assert.equal(lines.length, written);
    const simulated = new Map(lines.map((l) => [l.eventId, l]));
    const view = (x: {
      outcome: string;
      campaignId?: string | null;
      campaignVersion?: number | null;
      offerId?: string | null;
    }) => `${x.outcome} ${x.campaignId ?? '-'}@${x.campaignVersion ?? '-'} ${x.offerId ?? '-'}`;
    assert.deepEqual(
      events.map((e) => (simulated.has(e.id) ? view(simulated.get(e.id)!) : 'missing')),
      live.map(view),
    );
    for (const e of events) {
      const line = simulated.get(e.id)!;
      assert.equal(line.customerId, e.customer.id);
      assert.equal(line.occurredAt, new Date(e.occurredAt).toISOString());
    }

    // The report agrees with live.
    const liveMain = live.filter((d) => d.campaignId === main);
    assert.equal(report.offers.offers, liveMain.filter((d) => d.outcome === 'offer').length);
    assert.equal(report.offers.offers, 6, 'the budget was spent');
    assert.equal(report.holdout.decisions, liveMain.filter((d) => d.outcome === 'control').length);
    assert.equal(report.holdout.customers, 1);
    assert.ok(report.budget.exhaustedOn, 'the day the budget ran out');
    assert.ok(report.caps.cap > 0);
    assert.equal(report.reach.eventsTriggering, events.length);
    assert.deepEqual(report.breakdown.byStore, { [shop]: 6 });
    assert.ok(
      report.overlap.some((o) => o.campaignId === rival && o.movedToDraft > 0),
      JSON.stringify(report.overlap),
    );
    assert.ok(report.sample.length > 0);
    assert.ok((report.unreadable?.customers ?? 0) >= 1, JSON.stringify(report.unreadable));
    assert.match(
      report.unreadable!.reason,
      /wrapped under identity key ".+", which this process does not have/,
    );
    // Per event, which moved: the line names what the live campaigns alone decided.
    const moved = lines.filter((l) => l.campaignId === main && l.baseline?.campaignId === rival);
    assert.equal(moved.length, report.overlap.find((o) => o.campaignId === rival)!.movedToDraft);

    // Nothing live was touched.
    const budgetAfter = await h.cql.execute(
      'SELECT offers_used FROM campaign_budget WHERE campaign_id = ? LIMIT 1',
      [main],
      { prepare: true },
    );
    assert.equal(budgetAfter.first()?.['offers_used'], budgetBefore.first()?.['offers_used']);
    assert.equal(budgetAfter.first()?.['offers_used'], 6);
  });

  it('three worker processes give the report of one, budgets merged exactly (--workers, and --shard + merge)', async () => {
    assert.ok(day, 'the live day ran');
    const cliEnv = {
      ...env,
      CASSANDRA_KEYSPACE: h.config.cassandra.keyspace,
      NATS_URL: process.env['NATS_URL'] ?? '',
    };
    const period = ['--from', day[0], '--to', day[1], '--with-live'];
    const one = await nunchi(['campaigns', 'simulate', main, ...period, '--json'], cliEnv);
    assert.equal(one.code, 0, one.stderr);
    const single = JSON.parse(one.stdout) as SimulationReport;
    assert.equal(
      single.offers.offers,
      6,
      'the budget binds: the shards must agree on who got its six offers',
    );
    assert.ok(single.budget.refused > 0);

    const three = await nunchi(
      ['campaigns', 'simulate', main, ...period, '--json', '--workers', '3'],
      cliEnv,
    );
    assert.equal(three.code, 0, three.stderr);
    assert.deepEqual(normalised(JSON.parse(three.stdout) as SimulationReport), normalised(single));
    assert.match(three.stderr, /round 1: 3 workers/);
    assert.match(three.stderr, /exact/);

    // As a Kubernetes Indexed Job runs it: each shard on its own, merged from files, rounds until exact.
    const files = [0, 1, 2].map((i) => join(dir, `shard-${i}.json`));
    const checks = join(dir, 'checks.json');
    let merged: Awaited<ReturnType<typeof nunchi>> | undefined;
    for (let round = 1; round <= 10; round++) {
      // The shards of a round run at once, as the Job's pods do.
      const shards = await Promise.all(
        files.map((file, i) =>
          nunchi(
            [
              'campaigns',
              'simulate',
              main,
              ...period,
              '--shard',
              `${i}/3`,
              '--shard-out',
              file,
              ...(round > 1 ? ['--budget-checks', checks] : []),
            ],
            cliEnv,
          ),
        ),
      );
      for (const shard of shards) assert.equal(shard.code, 0, shard.stderr);
      merged = await nunchi(['campaigns', 'merge', ...files, '--next', checks, '--json'], cliEnv);
      if (merged.code !== 4) break;
      assert.match(merged.stderr, /run every shard again with --budget-checks/);
    }
    assert.equal(merged?.code, 0, merged?.stderr);
    assert.deepEqual(normalised(JSON.parse(merged.stdout) as SimulationReport), normalised(single));

    // Shards that do not belong together: a one-line error.
    const wrong = await nunchi(['campaigns', 'merge', files[0], files[0]], cliEnv);
    assert.notEqual(wrong.code, 0);
    assert.match(wrong.stderr, /^shard 0\/3 is given twice/);
    const bad = await nunchi(['campaigns', 'simulate', main, '--shard', '3/3'], cliEnv);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--shard must be i\/N with 0 <= i < N/);
  });

  it('compare: two campaigns on the same history, side by side, each as simulate reports it', async () => {
    assert.ok(day, 'the live day ran');
    const cliEnv = {
      ...env,
      CASSANDRA_KEYSPACE: h.config.cassandra.keyspace,
      NATS_URL: process.env['NATS_URL'] ?? '',
    };
    const period = ['--from', day[0], '--to', day[1]];
    // main as a file with a bigger budget, against main as it ran: the budget is what differs.
    const file = campaignFile({
      id: main,
      trigger: { types: ['purchase'], channels: ['pos'], stores: [shop] },
      priority: 2,
      holdoutPercent: 20,
      caps: { perCustomerPerDay: 2 },
      budget: { maxOffers: 1000 },
      offers: [
        { id: 'big', title: 'Big', value: 3000, when: 'event.amount >= 20000' },
        { id: 'small', title: 'Small', value: 1000 },
      ],
    });
    const compared = await nunchi(['campaigns', 'compare', `${main}@1`, file, ...period, '--json'], cliEnv);
    assert.equal(compared.code, 0, compared.stderr);
    const result = JSON.parse(compared.stdout) as {
      a: SimulationReport;
      b: SimulationReport;
      overlap: {
        eventsOfferedByBoth: number;
        eventsOfferedByAOnly: number;
        eventsOfferedByBOnly: number;
        customersOfferedByBoth: number;
      };
    };
    for (const [target, report] of [
      [`${main}@1`, result.a],
      [file, result.b],
    ] as const) {
      const alone = await nunchi(['campaigns', 'simulate', target, ...period, '--json'], cliEnv);
      assert.equal(alone.code, 0, alone.stderr);
      assert.deepEqual(normalised(report), normalised(JSON.parse(alone.stdout) as SimulationReport), target);
    }
    assert.equal(result.a.offers.offers, 6, 'as it ran: the budget of six');
    assert.ok(result.b.offers.offers > 6, 'the bigger budget offers more');
    assert.equal(result.b.budget.refused, 0);
    const o = result.overlap;
    assert.equal(o.eventsOfferedByBoth + o.eventsOfferedByAOnly, result.a.offers.offers);
    assert.equal(o.eventsOfferedByBoth + o.eventsOfferedByBOnly, result.b.offers.offers);
    assert.ok(o.eventsOfferedByBOnly > 0 && o.customersOfferedByBoth > 0, JSON.stringify(o));

    const text = await nunchi(['campaigns', 'compare', `${main}@1`, file, ...period], cliEnv);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, new RegExp(`^offers +6 +${result.b.offers.offers}$`, 'm'));
    assert.match(text.stdout, /^budget runs out on +\d{4}-\d{2}-\d{2} +-$/m);
    assert.match(text.stdout, /^overlap: \d+ events offered by both/m);

    for (const [args, message] of [
      [[`${main}@1`, `t${run}-unknown`], /^no campaign t\w+-unknown/],
      [[`${main}@1`, `${main}@99`], /^campaign \S+ has no version 99/],
      [[`${main}@1`, file, '--from', '2026-11-02', '--to', '2026-11-01'], /^empty date range/],
    ] as const) {
      const result = await nunchi(['campaigns', 'compare', ...args], cliEnv);
      assert.equal(result.code, 1, `${args.join(' ')}: exit code`);
      assert.match(result.stderr, message);
      assert.equal(result.stderr.trim().split('\n').length, 1, `one line: ${result.stderr}`);
    }
    const one = await nunchi(['campaigns', 'compare', `${main}@1`], cliEnv);
    assert.equal(one.code, 2, 'a missing campaign is a usage error');
  });

  it('yields to live traffic: waits while the hot path is behind, then decides the same', async () => {
    assert.ok(day, 'the live day ran');
    const cliEnv = {
      ...env,
      CASSANDRA_KEYSPACE: h.config.cassandra.keyspace,
      NATS_URL: process.env['NATS_URL'] ?? '',
    };
    const args = ['campaigns', 'simulate', main, '--with-live', '--from', day[0], '--to', day[1], '--json'];
    const alone = await nunchi(args, cliEnv);
    assert.equal(alone.code, 0, alone.stderr);
    assert.doesNotMatch(alone.stderr, /waiting for live traffic/);
    // A (forged) report that a context consumer holds a message 3 s old, every 200 ms for 5 s from the start.
    const behind = (): LagReport => ({
      group: 'context',
      member: `test-${run}-sim`,
      atMs: Date.now(),
      partitions: [{ partition: 0, oldestAgeMs: 3_000, pending: 99 }],
    });
    const reporting = setInterval(() => h.nc.publish(Subjects.lag('context'), encodeJson(behind())), 200);
    const stop = setTimeout(() => clearInterval(reporting), 5_000);
    let paced: Awaited<ReturnType<typeof nunchi>>;
    try {
      paced = await nunchi(args, cliEnv);
    } finally {
      clearInterval(reporting);
      clearTimeout(stop);
    }
    assert.equal(paced.code, 0, paced.stderr);
    const waited = /([\d.]+) s of it waiting for live traffic/.exec(paced.stderr);
    assert.ok(waited && Number(waited[1]) >= 1, `it waited: ${paced.stderr.slice(-400)}`);
    // A wait that long is said as it happens, and its end: held, it would otherwise look hung.
    assert.match(
      paced.stderr,
      /waiting for live traffic: the hot path is 3\.0 s behind \(Ctrl-C stops the simulation\)\n(.*\n)*live traffic caught up: going on after [\d.]+ s/,
    );
    assert.deepEqual(
      normalised(JSON.parse(paced.stdout) as SimulationReport),
      normalised(JSON.parse(alone.stdout) as SimulationReport),
      'the same decisions, later',
    );
  });

  it('bad input: a one-line error and a non-zero exit', async () => {
    const cliEnv = {
      ...env,
      CASSANDRA_KEYSPACE: h.config.cassandra.keyspace,
      NATS_URL: process.env['NATS_URL'] ?? '',
    };
    const bad = join(dir, 'bad.yaml');
    const { writeFileSync } = await import('node:fs');
    writeFileSync(
      bad,
      JSON.stringify({
        id: 'x',
        name: 'x',
        trigger: { types: ['purchase'] },
        offers: [],
        condition: 'ctx.nope > 1',
      }),
    );
    for (const [args, message] of [
      [[`t${run}-unknown`], /^no campaign t\w+-unknown/],
      [[`${main}@99`], new RegExp(`^campaign ${main} has no version 99 \\(versions 1 to 1\\)`)],
      [
        [main, '--from', '2026-11-02', '--to', '2026-11-01'],
        /^empty date range: --from .* is not before --to/,
      ],
      [[main, '--from', '2026-11-01T00:00:00Z', '--to', '2026-11-01T00:00:00Z'], /^empty date range/],
      [[main, '--from', 'yesterday'], /^--from: not a date: yesterday/],
      [[bad], /does not compile: /],
    ] as const) {
      const result = await nunchi(['campaigns', 'simulate', ...args], cliEnv);
      assert.notEqual(result.code, 0, `${args.join(' ')}: exit code`);
      assert.match(result.stderr, message);
      assert.equal(result.stderr.trim().split('\n').length, 1, `one line: ${result.stderr}`);
    }
  });

  it('interrupted with Ctrl-C, it leaves no output file behind', async () => {
    const cliEnv = {
      ...env,
      CASSANDRA_KEYSPACE: h.config.cassandra.keyspace,
      NATS_URL: process.env['NATS_URL'] ?? '',
    };
    const outDir = mkdtempSync(join(tmpdir(), 'nunchi-simulate-int-'));
    const out = join(outDir, 'decisions.ndjson');
    const result = await nunchi(
      ['campaigns', 'simulate', main, '--with-live', '--out', out],
      cliEnv,
      (child) => {
        // As soon as it has started scanning (Ctrl-C arrives while it works).
        child.stderr?.once('data', () => child.kill('SIGINT'));
        setTimeout(() => child.kill('SIGINT'), 1_500).unref();
      },
    );
    assert.ok(result.code !== 0 || result.signal === 'SIGINT', `exit ${result.code} ${result.signal}`);
    assert.equal(existsSync(out), false);
    assert.deepEqual(readdirSync(outDir), [], 'no partial file either');
  });
});
