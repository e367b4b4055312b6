import assert from 'node:assert/strict';
import { test } from 'node:test';
import { addDays, DAY_MS, dayFromIndex, dayIndex, daysBetween, parseDayIndex } from './day-index.js';
import { prng } from './fixtures.js';

void test('dayIndex counts days from 1970-01-01', () => {
  assert.equal(dayIndex('1970-01-01'), 0);
  assert.equal(dayIndex('1970-01-02'), 1);
  assert.equal(dayIndex('1969-12-31'), -1);
  assert.equal(dayIndex('2026-11-24'), Date.UTC(2026, 10, 24) / DAY_MS);
  // years 0–99 are years 0–99 (Date.UTC would read them as 1900–1999)
  assert.equal(dayIndex('0050-03-01'), dayIndex('2050-03-01') - 2000 * 365 - 485);
  assert.equal(dayFromIndex(dayIndex('0050-03-01')), '0050-03-01');
});

void test('dayIndex and dayFromIndex agree with Date over 1900–2200', () => {
  const rnd = prng(7);
  const lo = Date.UTC(1900, 0, 1) / DAY_MS;
  const hi = Date.UTC(2200, 0, 1) / DAY_MS;
  for (let i = 0; i < 20_000; i++) {
    const index = lo + Math.floor(rnd() * (hi - lo));
    const iso = new Date(index * DAY_MS).toISOString().slice(0, 10);
    assert.equal(dayFromIndex(index), iso);
    assert.equal(dayIndex(iso), index);
  }
});

void test('malformed or impossible days are rejected', () => {
  for (const bad of [
    '2026-02-29',
    '2026-13-01',
    '2026-00-10',
    '2026-04-31',
    '2026-1-01',
    '2026/01/01',
    'abcd-ef-gh',
    '',
    '2026-01-011',
    '2100-02-29',
  ]) {
    assert.ok(Number.isNaN(parseDayIndex(bad)), bad);
    assert.throws(() => dayIndex(bad), RangeError, bad);
  }
  assert.equal(daysBetween('2024-02-28', '2024-03-01'), 2, 'leap year');
  assert.equal(daysBetween('2000-02-28', '2000-03-01'), 2, '2000 is a leap year');
  assert.throws(() => dayFromIndex(1.5), RangeError);
});

void test('daysBetween and addDays are plain calendar arithmetic, DST-free', () => {
  assert.equal(daysBetween('2026-11-18', '2026-11-24'), 6);
  assert.equal(daysBetween('2026-11-24', '2026-11-18'), -6);
  assert.equal(daysBetween('2025-11-24', '2026-11-24'), 365);
  assert.equal(daysBetween('2026-03-07', '2026-03-09'), 2, 'across the US spring-forward');
  assert.equal(addDays('2026-12-31', 1), '2027-01-01');
  assert.equal(addDays('2026-03-01', -1), '2026-02-28');
  assert.equal(addDays('2024-03-01', -1), '2024-02-29');
  assert.equal(addDays('2026-11-24', -364), '2025-11-25');
});
