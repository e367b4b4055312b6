/**
 * The whole-system benchmark (`npm run bench`) end to end at toy size: a population imported, history with
 * data keys written, campaigns applied, the services started on a NATS of the benchmark's own, a ramp step,
 * the overload and recovery steps. The figures are not judged here (a timed test would flake; `npm run bench`
 * prints them): what is checked is that the run completes and every purchase it sent was decided. It once
 * failed for weeks unseen (a Cassandra grant it needed was missing), because nothing in `npm test` ran it.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

// Its own NATS port, keyspace and service ports: never the test harness's, nor a benchmark run beside.
process.env['NUNCHI_BENCH_NATS_PORT'] ??= '14296';
process.env['NUNCHI_BENCH_SYSTEM_KEYSPACE'] ??= 'nunchi_bench_smoke';
process.env['NUNCHI_BENCH_SERVICE_PORTS'] ??= '3321,3322,3323,3324';

describe('npm run bench, at toy size', () => {
  it('runs the whole system and decides every purchase it sends', { timeout: 300_000 }, async () => {
    // Imported only now: the benchmark reads its ports and keyspace from the environment when loaded.
    const { runSystemBench } = await import('../bench/system.js');
    const lines: string[] = [];
    const result = await runSystemBench({
      quick: true, // shorter recovery step and drain deadlines
      population: 400,
      historyMonths: 1,
      rates: [20],
      stepSeconds: 5,
      overloadRate: 40,
      overloadSeconds: 5,
      tracingComparison: false,
      log: (line) => lines.push(line),
    });
    const trail = () => lines.slice(-30).join('\n');
    assert.ok(result.history.events > 0, `no history written\n${trail()}`);
    const ramp = result.steps.filter((s) => s.kind === 'ramp');
    assert.equal(ramp.length, 1, trail());
    const step = ramp[0];
    assert.ok(step.purchases > 0, `no purchase sent\n${trail()}`);
    assert.equal(step.lostDecisions, 0, `purchases without a decision\n${trail()}`);
    assert.equal(step.decisions, step.purchases, trail());
    assert.ok(result.idle.sendToDecision.p50 > 0, `the idle probe measured nothing\n${trail()}`);
    assert.ok(result.overload, `no overload step\n${trail()}`);
    assert.ok(result.overload.overload.purchases > 0, trail());
    assert.equal(result.overload.lost, 0, `lost over overload and recovery\n${trail()}`);
  });
});
