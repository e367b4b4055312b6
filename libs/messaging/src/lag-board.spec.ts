import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { LagReport } from '@nunchi/contracts/core';
import { holdFromMs, LagBoard } from './lag-board.js';

const report = (partitions: Record<number, number>, member = 'c1', atMs = Date.now()): LagReport => ({
  group: 'context',
  member,
  atMs,
  partitions: Object.entries(partitions).map(([p, oldestAgeMs]) => ({
    partition: Number(p),
    oldestAgeMs,
    pending: 1,
  })),
});

describe('LagBoard', () => {
  it('keeps the worst lag per partition over the replicas still reporting', () => {
    const board = new LagBoard();
    board.receive(report({ 0: 50, 1: 300 }, 'c1'));
    board.receive(report({ 1: 120, 2: 80 }, 'c2'));
    board.receive(report({ 3: 9_000 }, 'gone', Date.now() - 2_500));
    assert.equal(board.lagOf(1), 300);
    assert.equal(board.lagOf(2), 80);
    assert.equal(board.lagOf(3), 0, 'a replica that stopped reporting does not count');
    assert.equal(board.worstMs(), 300);
    board.receive(report({ 0: 10, 1: 20 }, 'c1'));
    assert.equal(board.worstMs(Date.now() + 200), 120, "a replica's report replaces its previous one");
  });

  it('untilCaughtUp: at once when no partition is behind; else until it catches up, at most the longest wait', async () => {
    const board = new LagBoard();
    board.receive(report({ 0: 100 }));
    assert.equal(await board.untilCaughtUp(100, 5_000), 0, 'not past the bound');
    board.receive(report({ 0: 2_000 }));
    assert.equal(await board.untilCaughtUp(0, 5_000), 0, 'a bound of 0 never waits');
    const bounded = await board.untilCaughtUp(100, 250);
    assert.ok(bounded >= 245 && bounded < 600, `waited ${bounded} ms`);
    setTimeout(() => board.receive(report({ 0: 0 })), 150);
    const caughtUp = await board.untilCaughtUp(100, 5_000);
    assert.ok(caughtUp >= 140 && caughtUp < 600, `waited ${caughtUp} ms`);
  });

  it('untilCaughtUp one step at a time: waiters together go on one per longest wait, all once caught up', async () => {
    const board = new LagBoard();
    board.receive(report({ 0: 400 })); // behind, under the hold bound
    const startMs = Date.now();
    const wentOnAfter: number[] = [];
    const waiters = Array.from({ length: 4 }, () =>
      board
        .untilCaughtUp(100, 300, { holdFromMs: 1_000, oneStepAtATime: true })
        .then(() => wentOnAfter.push(Date.now() - startMs)),
    );
    setTimeout(() => board.receive(report({ 0: 400 })), 400); // still behind: reports keep coming
    setTimeout(() => board.receive(report({ 0: 0 })), 750);
    await Promise.all(waiters);
    assert.equal(wentOnAfter.length, 4);
    const [first, second, ...rest] = wentOnAfter;
    assert.ok(first >= 295 && first < 500, `the first went on after ${first} ms`);
    assert.ok(second - first >= 295, `the second ${second - first} ms after the first`);
    for (const t of rest)
      assert.ok(t >= 740 && t < 1_000, `the others once caught up: ${wentOnAfter.join(', ')} ms`);
    // without: every waiter goes on after the longest wait
    board.receive(report({ 0: 400 }));
    const together = await Promise.all(
      Array.from({ length: 3 }, () => board.untilCaughtUp(100, 200, { holdFromMs: 1_000 })),
    );
    assert.ok(Math.max(...together) < 400, `waited ${together.join(', ')} ms`);
  });

  it('holdFromMs: where admission control starts refusing, or half the SLA if that comes first or admission is off', () => {
    assert.equal(holdFromMs(1_000, 2_000), 500);
    assert.equal(holdFromMs(10_000, 2_000), 1_000);
    assert.equal(holdFromMs(0, 2_000), 1_000);
  });

  it('untilCaughtUp: past the hold bound, waits beyond the longest wait until the lag falls back under it', async () => {
    const board = new LagBoard();
    board.receive(report({ 0: 1_500 }));
    setTimeout(() => board.receive(report({ 0: 400 })), 600);
    const held = await board.untilCaughtUp(100, 250, { holdFromMs: 1_000 });
    assert.ok(held >= 590 && held < 1_000, `held ${held} ms: until under 1,000 ms of lag, then went on`);
    assert.ok(
      (await board.untilCaughtUp(100, 0, { holdFromMs: 1_000 })) < 50,
      'behind, under the hold bound, no wait allowed: at once',
    );
  });

  it('untilCaughtUp with calmMs: caught up only once no report of that span was past the bound', async () => {
    const board = new LagBoard();
    board.receive(report({ 0: 300 }));
    board.receive(report({ 0: 20 }, 'c2'));
    board.receive(report({ 0: 40 })); // replaces the 300: the lag now is 40 ms, but 300 was reported just now
    assert.equal(board.worstMs(), 40);
    assert.equal(board.worstOverMs(1_000), 300);
    assert.equal(await board.untilCaughtUp(100, 5_000), 0, 'without calmMs: at once');
    const calm = await board.untilCaughtUp(100, 5_000, { calmMs: 400 });
    assert.ok(calm >= 380 && calm < 700, `waited ${calm} ms for 400 ms without a report past 100 ms`);
    assert.equal(await board.untilCaughtUp(100, 5_000, { calmMs: 400 }), 0, 'calm since: at once');
    setTimeout(() => board.receive(report({ 0: 150 }, 'c2')), 100);
    setTimeout(() => board.receive(report({ 0: 10 }, 'c2')), 200);
    await new Promise((r) => setTimeout(r, 250));
    const again = await board.untilCaughtUp(100, 5_000, { calmMs: 400 });
    assert.ok(again >= 300 && again < 600, `a spike of 150 ms: ${again} ms more (400 ms after the spike)`);
  });
});
