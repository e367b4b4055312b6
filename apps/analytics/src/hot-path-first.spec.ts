import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { NunchiConfig } from '@nunchi/config';
import type { LagReport } from '@nunchi/contracts/core';
import { HotPathFirst } from './hot-path-first.js';

const gate = (admissionMaxLagMs: number, analyticsYieldMaxMs: number) =>
  new HotPathFirst({ domain: { admissionMaxLagMs, analyticsYieldMaxMs } } as NunchiConfig);
const report = (oldestAgeMs: number, member = 'c1', group = 'context'): LagReport => ({
  group,
  member,
  atMs: Date.now(),
  partitions: [{ partition: 3, oldestAgeMs, pending: 10 }],
});
const timed = async (f: () => Promise<void>) => {
  const start = performance.now();
  await f();
  return performance.now() - start;
};

describe('HotPathFirst (analytics yields to the hot path)', () => {
  it('goes on at once while the hot path keeps up', async () => {
    const g = gate(1_000, 1_000);
    assert.ok((await timed(() => g.turn())) < 20, 'no report');
    g.receive(report(500));
    assert.ok((await timed(() => g.turn())) < 20, 'half the bound is not behind');
  });

  it('waits while a consumer is behind by more than half the bound, at most the longest wait', async () => {
    const g = gate(1_000, 300);
    g.receive(report(200));
    g.receive(report(900, 'd1', 'decision'));
    const waited = await timed(() => Promise.all([g.turn(), g.turn(), g.turn()]).then(() => undefined));
    assert.ok(waited >= 295 && waited < 600, `waited ${waited} ms`);
  });

  it('goes on as soon as the hot path has caught up', async () => {
    const g = gate(1_000, 5_000);
    g.receive(report(2_000));
    setTimeout(() => g.receive(report(0)), 150);
    const waited = await timed(() => g.turn());
    assert.ok(waited >= 140 && waited < 500, `waited ${waited} ms`);
  });

  it('never waits when turned off, or with admission control off', async () => {
    for (const g of [gate(1_000, 0), gate(0, 1_000)]) {
      g.receive(report(60_000));
      assert.ok((await timed(() => g.turn())) < 20);
    }
  });

  it('does not wait for a replica that stopped reporting', async () => {
    const g = gate(1_000, 5_000);
    g.receive({ ...report(9_000), atMs: Date.now() - 2_500 });
    assert.ok((await timed(() => g.turn())) < 20);
  });
});
