import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { NunchiConfig } from '@nunchi/config';
import type { LagReport } from '@nunchi/contracts/core';
import { Admission, refusalShare } from './admission.js';

const admission = (admissionMaxLagMs: number) =>
  new Admission({ domain: { admissionMaxLagMs } } as NunchiConfig);
const report = (
  member: string,
  atMs: number,
  lags: Record<number, number>,
  group = 'context',
): LagReport => ({
  group,
  member,
  atMs,
  partitions: Object.entries(lags).map(([p, oldestAgeMs]) => ({
    partition: Number(p),
    oldestAgeMs,
    pending: 1,
  })),
});

describe('Admission (overload control at the door)', () => {
  it('refuses every event of a partition whose consumer holds a message older than the bound, and only that one', () => {
    const a = admission(1_000);
    a.receive(report('r1', 10_000, { 0: 1_500, 1: 200 }));
    for (let i = 0; i < 5; i++)
      assert.deepEqual(a.admit(0, 10_100), { ok: false, lagMs: 1_500, retryAfterMs: 1_000 });
    assert.deepEqual(a.admit(1, 10_100), { ok: true });
    assert.deepEqual(a.admit(2, 10_100), { ok: true }, 'no report: admitted');
  });

  it('between half the bound and the bound refuses a share that grows with the lag, evenly spread', () => {
    assert.equal(refusalShare(500, 1_000), 0);
    assert.equal(refusalShare(750, 1_000), 0.5);
    assert.equal(refusalShare(1_000, 1_000), 1);
    assert.equal(refusalShare(60_000, 0), 0, 'turned off');
    const a = admission(1_000);
    a.receive(report('r1', 10_000, { 0: 600, 1: 900, 2: 500 }));
    const verdicts = (partition: number) =>
      Array.from({ length: 100 }, () => (a.admit(partition, 10_050).ok ? '.' : 'x')).join('');
    const p0 = verdicts(0);
    assert.equal([...p0].filter((v) => v === 'x').length, 20, '600 ms: a fifth refused');
    assert.match(p0, /^(\.\.\.\.x){20}$/, 'every fifth, not in a burst');
    assert.equal([...verdicts(1)].filter((v) => v === 'x').length, 80, '900 ms: four fifths');
    assert.equal(verdicts(2), '.'.repeat(100), 'half the bound: nothing refused');
    const refused = a.admit(0, 10_050);
    const fifth = [refused, ...Array.from({ length: 4 }, () => a.admit(0, 10_050))].find((r) => !r.ok);
    assert.deepEqual(fifth, { ok: false, lagMs: 600, retryAfterMs: 250 }, 'the hint is at least 250 ms');
  });

  it('takes the worst of context and decision, and forgets a replica that stopped reporting', () => {
    const a = admission(1_000);
    a.receive(report('r1', 10_000, { 3: 100 }));
    a.receive(report('d1', 10_000, { 3: 4_000 }, 'decision'));
    assert.equal(a.admit(3, 10_000).ok, false);
    a.receive(report('d1', 10_500, { 3: 0 }, 'decision'));
    assert.equal(a.admit(3, 10_600).ok, true, 'the newer report replaces the older');
    a.receive(report('r2', 11_000, { 4: 5_000 }));
    assert.equal(a.admit(4, 12_000).ok, false);
    assert.equal(a.admit(4, 13_100).ok, true, 'reports older than 2 s no longer count');
  });

  it('bounds the retry hint and never refuses when turned off', () => {
    const a = admission(1_000);
    a.receive(report('r1', 0, { 0: 1_001 }));
    assert.deepEqual(a.admit(0, 0), { ok: false, lagMs: 1_001, retryAfterMs: 501 });
    a.receive(report('r1', 0, { 0: 60_000 }));
    assert.deepEqual(a.admit(0, 0), { ok: false, lagMs: 60_000, retryAfterMs: 10_000 });
    const off = admission(0);
    off.receive(report('r1', 0, { 0: 60_000 }));
    assert.deepEqual(off.admit(0, 0), { ok: true });
  });
});
