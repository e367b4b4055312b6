/** waitForHotPath against the real NATS server: the lag reports as a simulation outside the services hears them. */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { NatsConnection } from '@nats-io/transport-node';
import { loadConfig } from '@nunchi/config';
import { Subjects, type LagReport } from '@nunchi/contracts/core';
import { encodeJson } from './codec.js';
import { connectNats } from './connection.js';
import { waitForHotPath } from './lag-board.js';

describe('waitForHotPath (real NATS)', () => {
  let nc: NatsConnection;
  const member = `medium-${randomUUID().slice(0, 8)}`;
  // A partition no test service owns, so that admission control elsewhere is not disturbed meanwhile.
  const report = (oldestAgeMs: number): LagReport => ({
    group: 'context',
    member,
    atMs: Date.now(),
    partitions: [{ partition: 9_999, oldestAgeMs, pending: 1 }],
  });
  const timed = async (f: () => Promise<unknown>) => {
    const start = performance.now();
    await f();
    return performance.now() - start;
  };

  before(async () => {
    nc = await connectNats(
      loadConfig('cli', { ...process.env, OTEL_TRACES_EXPORTER: 'none' }).nats,
      'nunchi-medium-test',
    );
  });
  after(async () => {
    await nc?.drain();
  });

  it('first waits for a report — a simulation started during overload waits from its first step', async () => {
    const hotPath = waitForHotPath(nc, 100, 600);
    try {
      setTimeout(() => nc.publish(Subjects.lag('context'), encodeJson(report(3_000))), 150);
      const waited = await hotPath.wait();
      assert.ok(waited >= 550 && waited < 1_000, `waited ${waited} ms for the hot path`);
      assert.equal(hotPath.behind(), true);
      nc.publish(Subjects.lag('context'), encodeJson(report(0)));
      await nc.flush();
      await new Promise((r) => setTimeout(r, 150));
      assert.equal(hotPath.behind(), false);
      assert.ok((await timed(() => hotPath.wait())) < 50, 'caught up: at once');
    } finally {
      hotPath.stop();
    }
  });

  it('is ready one report interval after the first report: a replica behind that reports later still counts', async () => {
    const hotPath = waitForHotPath(nc, 100, 5_000);
    try {
      // the first report heard is of a replica keeping up; another, behind, reports 300 ms later
      nc.publish(Subjects.lag('context'), encodeJson(report(0)));
      setTimeout(
        () => nc.publish(Subjects.lag('decision'), encodeJson({ ...report(3_000), group: 'decision' })),
        300,
      );
      await hotPath.ready;
      assert.equal(hotPath.behind(), true, 'ready before every replica had reported');
      nc.publish(Subjects.lag('decision'), encodeJson({ ...report(0), group: 'decision' }));
      await nc.flush();
    } finally {
      hotPath.stop();
    }
  });

  it('past the hold bound, holds beyond the longest wait until the lag falls back under it', async () => {
    const hotPath = waitForHotPath(nc, 100, 200, { holdFromMs: 1_000 });
    try {
      nc.publish(Subjects.lag('context'), encodeJson(report(3_000)));
      await hotPath.ready;
      setTimeout(() => nc.publish(Subjects.lag('context'), encodeJson(report(500))), 700);
      const held = await timed(() => hotPath.wait());
      assert.ok(held >= 650 && held < 1_200, `held ${held} ms: until under 1,000 ms of lag`);
      assert.equal(hotPath.behind(), true, 'still behind, under the hold bound: it went on');
      nc.publish(Subjects.lag('context'), encodeJson(report(0)));
      await nc.flush();
    } finally {
      hotPath.stop();
    }
  });

  it('with a calm period, goes on only once every report of that period was within the bound', async () => {
    const hotPath = waitForHotPath(nc, 100, 5_000, { calmMs: 800 });
    try {
      nc.publish(Subjects.lag('context'), encodeJson(report(400)));
      await hotPath.ready;
      nc.publish(Subjects.lag('context'), encodeJson(report(400))); // the last report past the bound: now
      setTimeout(() => nc.publish(Subjects.lag('context'), encodeJson(report(0))), 200);
      const waited = await timed(() => hotPath.wait());
      assert.ok(
        waited >= 750 && waited < 1_200,
        `waited ${waited} ms: caught up after 200 ms, calm 800 ms after the last report past the bound`,
      );
      assert.equal(hotPath.behind(), false);
    } finally {
      hotPath.stop();
    }
  });

  it('with no replica reporting, goes on after two report intervals at most', async () => {
    const hotPath = waitForHotPath(nc, 100, 5_000);
    try {
      const first = await timed(() => hotPath.wait());
      assert.ok(first >= 900 && first < 1_500, `first wait ${first} ms`);
      assert.ok((await timed(() => hotPath.wait())) < 50, 'then at once');
    } finally {
      hotPath.stop();
    }
  });
});
