/**
 * `node dist/bench/cassandra-pacing.js`: what one request costs the local Cassandra node depending on how the
 * requests arrive — the same small mix (a profile read, a 20-row range read of a customer's days, a one-row
 * insert) sent in bursts (16 in flight, as fast as it answers) and paced at fixed rates, as live traffic
 * arrives — and conditional updates (lightweight transactions, as the contact ledger's claims) paced. Prints
 * Cassandra's CPU per request for each (from /proc: the node must be the one `npm run
 * infra:up` started). docs/architecture.md, "Cost per event", reads it: at the rates the whole system runs
 * at, a request costs several times its cost in a burst.
 */
import { ensureInfra } from '../tools/infra.js';
import { benchConfig, benchKeyspace, dropBenchKeyspace, percentile } from './support.js';
import { sampleProcess } from './proc-stats.js';

const CUSTOMERS = 2_000;
const DAYS = 20;
const BURST_REQUESTS = 6_000;
const PACED_SECONDS = 8;
const RATES = [300, 700, 1_500, 3_000];

async function main(): Promise<void> {
  const infra = await ensureInfra((line) => console.error(`infra ${line}`), ['cassandra']);
  const pid = (infra as { cassandra?: { pid?: number | null } }).cassandra?.pid;
  if (!pid)
    throw new Error(
      'the Cassandra node was not started by this checkout (npm run infra:up): its CPU cannot be read',
    );
  const config = benchConfig({ NUNCHI_BENCH_KEYSPACE: 'nunchi_bench_pacing', ...process.env });
  const client = await benchKeyspace(config);
  try {
    const ids = Array.from({ length: CUSTOMERS }, (_, i) => `pace-${i}`);
    const totals = Buffer.alloc(90, 7); // a day's rollups are ~90 bytes
    for (const id of ids) {
      await client.execute(
        'INSERT INTO customers (customer_id, age, region) VALUES (?, ?, ?)',
        [id, 40, 'Bundang'],
        {
          prepare: true,
        },
      );
      await Promise.all(
        Array.from({ length: DAYS }, (_, d) =>
          client.execute(
            'INSERT INTO customer_days (customer_id, day, totals) VALUES (?, ?, ?)',
            [id, `2026-11-${String(d + 1).padStart(2, '0')}`, totals],
            { prepare: true },
          ),
        ),
      );
    }
    const mix = [
      (id: string) =>
        client.execute('SELECT * FROM customers WHERE customer_id = ?', [id], { prepare: true }),
      (id: string) =>
        client.execute(
          'SELECT day, totals, months FROM customer_days WHERE customer_id = ? AND day >= ?',
          [id, '2026-01-01'],
          {
            prepare: true,
          },
        ),
      (id: string) =>
        client.execute(
          'INSERT INTO active_customers (partition, day, customer_id) VALUES (?, ?, ?)',
          [0, '2026-11-30', id],
          {
            prepare: true,
          },
        ),
    ];
    const request = (i: number) => mix[i % mix.length](ids[i % ids.length]);
    const cpu = () => sampleProcess(pid)?.cpuSeconds ?? NaN;
    for (let i = 0; i < 3_000; i++) await request(i); // warm

    const rows: Row[] = [];
    {
      const before = cpu();
      const started = performance.now();
      let next = 0;
      await Promise.all(
        Array.from({ length: 16 }, async () => {
          while (next < BURST_REQUESTS) await request(next++);
        }),
      );
      const seconds = (performance.now() - started) / 1000;
      rows.push([
        'burst, 16 in flight',
        BURST_REQUESTS / seconds,
        (cpu() - before) / seconds,
        ((cpu() - before) * 1000) / BURST_REQUESTS,
      ]);
    }
    for (const rate of RATES) rows.push(await paced(`paced at ${rate}/s`, rate, request, cpu));
    rows.push(...(await conditionalUpdates(client, cpu)));
    console.log(
      `Cassandra's CPU per request by arrival (a profile read, a ${DAYS}-row range read and a one-row insert, in turn):`,
    );
    console.log(
      '  arrival               requests/s   Cassandra CPU (% of a core)   ms CPU per request   latency p50 / p99 (ms)',
    );
    for (const [label, perSecond, cores, ms, p50, p99] of rows)
      console.log(
        `  ${label.padEnd(20)}  ${perSecond.toFixed(0).padStart(10)}   ${(cores * 100).toFixed(1).padStart(27)}   ${ms.toFixed(3).padStart(18)}   ${p50 === undefined ? '' : `${p50.toFixed(2)} / ${p99!.toFixed(2)}`.padStart(22)}`,
      );
  } finally {
    await dropBenchKeyspace(client, config);
    await client.shutdown();
  }
}

/**
 * Lightweight transactions, as the contact ledger's claims are made (`UPDATE … IF seq = ?` on one row, 500
 * customers in turn), paced: what a claim costs and takes under the node's `paxos_variant`
 * (docs/infrastructure.md, "Paxos v2").
 */
async function conditionalUpdates(
  client: Awaited<ReturnType<typeof benchKeyspace>>,
  cpu: () => number,
): Promise<Row[]> {
  await client.execute(
    'CREATE TABLE IF NOT EXISTS pacing_ledger (id text PRIMARY KEY, seq int, claims text)',
  );
  const ids = Array.from({ length: 500 }, (_, i) => `ledger-${i}`);
  const seqs = new Map(ids.map((id) => [id, 0]));
  for (const id of ids)
    await client.execute('INSERT INTO pacing_ledger (id, seq, claims) VALUES (?, 0, ?)', [id, ''], {
      prepare: true,
    });
  let n = 0;
  const claim = async () => {
    const id = ids[n++ % ids.length];
    const seq = seqs.get(id)!;
    const result = await client.execute(
      'UPDATE pacing_ledger SET seq = ?, claims = ? WHERE id = ? IF seq = ?',
      [seq + 1, 'd'.repeat(200), id, seq],
      { prepare: true },
    );
    if (!result.wasApplied()) throw new Error(`conditional update of ${id} not applied`);
    seqs.set(id, seq + 1);
  };
  for (let i = 0; i < 1_000; i++) await claim(); // warm
  return [
    await paced('LWT paced at 200/s', 200, claim, cpu),
    await paced('LWT paced at 500/s', 500, claim, cpu),
  ];
}

/** arrival, requests/s, cores, ms CPU per request, and for paced arrivals latency p50 and p99 (ms) */
type Row = [string, number, number, number, number?, number?];

/** `send` called at `rate` a second for PACED_SECONDS, as live traffic arrives: one row of the table. */
async function paced(
  label: string,
  rate: number,
  send: (i: number) => Promise<unknown>,
  cpu: () => number,
): Promise<Row> {
  const before = cpu();
  const started = performance.now();
  let sent = 0;
  const inFlight: Array<Promise<unknown>> = [];
  const latencies: number[] = [];
  while (performance.now() - started < PACED_SECONDS * 1000) {
    const due = Math.floor(((performance.now() - started) / 1000) * rate);
    for (; sent < due; sent++) {
      const sentAt = performance.now();
      inFlight.push(send(sent).then(() => void latencies.push(performance.now() - sentAt)));
    }
    await new Promise((r) => setTimeout(r, 1));
  }
  await Promise.all(inFlight);
  const seconds = (performance.now() - started) / 1000;
  const used = cpu() - before;
  latencies.sort((a, b) => a - b);
  return [
    label,
    sent / seconds,
    used / seconds,
    (used * 1000) / sent,
    percentile(latencies, 50),
    percentile(latencies, 99),
  ];
}

main().catch((error: unknown) => {
  console.error((error as Error).message);
  process.exit(1);
});
