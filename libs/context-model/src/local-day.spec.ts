import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DAY_MS } from './day-index.js';
import { prng } from './fixtures.js';
import { isValidTimeZone, localDay, localDayIndex, localDayRange, zoneOffsetMs } from './local-day.js';

const SEOUL = 'Asia/Seoul';
const ms = (iso: string): number => Date.parse(iso);

/** Oracle: ask Intl directly, a fresh formatter, no caching. */
const oracles = new Map<string, Intl.DateTimeFormat>();
function intlDay(epochMs: number, timeZone: string): string {
  let f = oracles.get(timeZone);
  if (f === undefined)
    oracles.set(
      timeZone,
      (f = new Intl.DateTimeFormat('en-US', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' })),
    );
  const parts = f.formatToParts(epochMs);
  const get = (t: string): string => parts.find((p) => p.type === t)!.value;
  return `${get('year')}-${get('month')}-${get('day')}`;
}

void test('local day boundary in Asia/Seoul (UTC+9, no DST)', () => {
  assert.equal(localDay(ms('2026-11-24T23:30:00+09:00'), SEOUL), '2026-11-24');
  assert.equal(localDay(ms('2026-11-24T14:30:00Z'), SEOUL), '2026-11-24', 'the same instant in UTC');
  assert.equal(localDay(ms('2026-11-24T15:30:00Z'), SEOUL), '2026-11-25', '00:30 next day in Seoul');
  assert.equal(localDay(ms('2026-11-24T14:59:59.999Z'), SEOUL), '2026-11-24');
  assert.equal(localDay(ms('2026-11-24T15:00:00Z'), SEOUL), '2026-11-25', 'Seoul midnight');
  assert.equal(localDay(ms('2026-11-24T08:30:00+09:00'), 'UTC'), '2026-11-23');
  assert.equal(localDay(ms('2026-11-24T08:30:00+09:00'), 'America/Los_Angeles'), '2026-11-23');
  assert.equal(localDayIndex(ms('2026-11-24T15:30:00Z'), SEOUL), Date.UTC(2026, 10, 25) / DAY_MS);
  assert.equal(zoneOffsetMs(ms('2026-11-24T15:30:00Z'), SEOUL), 9 * 3_600_000);
});

void test('Seoul local day equals the fixed +9 h arithmetic for random instants', () => {
  const rnd = prng(11);
  const lo = ms('2000-01-01T00:00:00Z');
  const span = ms('2040-01-01T00:00:00Z') - lo;
  for (let i = 0; i < 20_000; i++) {
    const t = lo + Math.floor(rnd() * span);
    assert.equal(
      localDay(t, SEOUL),
      new Date(t + 9 * 3_600_000).toISOString().slice(0, 10),
      new Date(t).toISOString(),
    );
  }
});

void test('the hour cache agrees with Intl in zones with DST, half-hour offsets and midnight transitions', () => {
  const zones = [
    'America/New_York',
    'Asia/Tehran',
    'Europe/London',
    'Australia/Lord_Howe',
    'Asia/Kolkata',
    'Asia/Kathmandu',
    'America/Santiago',
    'America/St_Johns',
    'Pacific/Chatham',
  ];
  const rnd = prng(12);
  const lo = ms('2019-01-01T00:00:00Z');
  const span = ms('2028-01-01T00:00:00Z') - lo;
  for (const tz of zones) {
    for (let i = 0; i < 3000; i++) {
      // half uniformly random, half clustered on whole quarter hours, where transitions and midnights sit
      const t = lo + Math.floor(rnd() * span);
      const q = i % 2 === 0 ? t : Math.round(t / 900_000) * 900_000 - (i % 4 === 1 ? 1 : 0);
      assert.equal(localDay(q, tz), intlDay(q, tz), `${tz} ${new Date(q).toISOString()}`);
    }
  }
});

void test('a transition inside a UTC hour at local midnight (Asia/Tehran, 2021) is not smoothed over by the hour cache', () => {
  // 2021-09-22 00:00 +04:30 (19:30Z) clocks went back to 2021-09-21 23:00 +03:30
  const tehran = 'Asia/Tehran';
  localDay(ms('2021-09-21T19:00:00Z'), tehran); // warm the cache for the hour 19:00–20:00Z
  for (const t of [
    '2021-09-21T19:00:00Z',
    '2021-09-21T19:29:59Z',
    '2021-09-21T19:30:00Z',
    '2021-09-21T19:45:00Z',
    '2021-09-21T20:29:59Z',
  ]) {
    assert.equal(localDay(ms(t), tehran), '2021-09-21', t);
  }
  assert.equal(localDay(ms('2021-09-21T20:30:00Z'), tehran), '2021-09-22');
  assert.deepEqual(localDayRange('2021-09-21', tehran), {
    startMs: ms('2021-09-20T19:30:00Z'),
    endMs: ms('2021-09-21T20:30:00Z'),
  });
});

void test('DST: New York days around the changes', () => {
  const ny = 'America/New_York';
  assert.equal(localDay(ms('2026-03-08T04:59:59Z'), ny), '2026-03-07');
  assert.equal(localDay(ms('2026-03-08T05:00:00Z'), ny), '2026-03-08');
  assert.equal(localDay(ms('2026-03-09T03:59:59Z'), ny), '2026-03-08', 'EDT: 23:59:59');
  assert.equal(localDay(ms('2026-03-09T04:00:00Z'), ny), '2026-03-09');
  assert.equal(localDay(ms('2026-11-02T04:59:59Z'), ny), '2026-11-01', 'EST after fall-back');
  assert.equal(localDay(ms('2026-11-02T05:00:00Z'), ny), '2026-11-02');
});

void test('localDayRange gives the instants of a local day, 23 h and 25 h on DST changes', () => {
  assert.deepEqual(localDayRange('2026-11-24', SEOUL), {
    startMs: ms('2026-11-23T15:00:00Z'),
    endMs: ms('2026-11-24T15:00:00Z'),
  });
  const ny = 'America/New_York';
  assert.deepEqual(localDayRange('2026-03-08', ny), {
    startMs: ms('2026-03-08T05:00:00Z'),
    endMs: ms('2026-03-09T04:00:00Z'),
  });
  assert.deepEqual(localDayRange('2026-11-01', ny), {
    startMs: ms('2026-11-01T04:00:00Z'),
    endMs: ms('2026-11-02T05:00:00Z'),
  });
  // Chile skipped 00:00–00:59 on 2022-09-11: the day began at 01:00 -03 = 04:00Z
  const cl = 'America/Santiago';
  const r = localDayRange('2022-09-11', cl);
  assert.equal(intlDay(r.startMs, cl), '2022-09-11');
  assert.equal(intlDay(r.startMs - 1, cl), '2022-09-10');
  assert.equal(intlDay(r.endMs, cl), '2022-09-12');
  assert.equal(intlDay(r.endMs - 1, cl), '2022-09-11');
  assert.equal(r.startMs, ms('2022-09-11T04:00:00Z'));
});

void test('localDayRange bounds match localDay for random days and zones', () => {
  const rnd = prng(13);
  const zones = [
    SEOUL,
    'America/New_York',
    'Australia/Lord_Howe',
    'America/Santiago',
    'Asia/Kathmandu',
    'UTC',
  ];
  for (let i = 0; i < 2000; i++) {
    const tz = zones[i % zones.length];
    const day = new Date(ms('2020-01-01T00:00:00Z') + Math.floor(rnd() * 3000) * DAY_MS)
      .toISOString()
      .slice(0, 10);
    const { startMs, endMs } = localDayRange(day, tz);
    assert.equal(intlDay(startMs, tz), day, `${tz} ${day} start`);
    assert.notEqual(intlDay(startMs - 1, tz), day, `${tz} ${day} before start`);
    assert.equal(intlDay(endMs - 1, tz), day, `${tz} ${day} end`);
    assert.notEqual(intlDay(endMs, tz), day, `${tz} ${day} after end`);
  }
});

void test('bad zones and instants are rejected', () => {
  assert.equal(isValidTimeZone(SEOUL), true);
  assert.equal(isValidTimeZone('Mars/Olympus_Mons'), false);
  assert.throws(() => localDay(0, 'Mars/Olympus_Mons'), RangeError);
  assert.throws(() => localDay(NaN, SEOUL), RangeError);
  assert.throws(() => localDay(Infinity, SEOUL), RangeError);
});
