import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CampaignSet } from './campaign-set.js';
import type { CampaignSchedule } from './campaign.js';
import { dayOfIso, isoOfDay, utcOffsetMs, weekdayOfDay } from './local-time.js';
import { compileSchedule, inSchedule } from './schedule.js';
import { compiled, event, input, seoul } from './testing/fixtures.js';

/** Is the Seoul wall-clock time inside the schedule (given in Asia/Seoul)? */
function openAt(s: Omit<CampaignSchedule, 'timezone'>, local: string): boolean {
  const sched = compileSchedule({ timezone: 'Asia/Seoul', ...s });
  const ms = seoul(local);
  return inSchedule(sched, ms + utcOffsetMs('Asia/Seoul', ms));
}

void describe('local time', () => {
  void it('knows Seoul is UTC+9 and New York changes offset with daylight saving', () => {
    assert.equal(utcOffsetMs('Asia/Seoul', Date.parse('2026-11-24T10:05:00Z')), 9 * 3_600_000);
    assert.equal(utcOffsetMs('America/New_York', Date.parse('2026-03-08T06:59:00Z')), -5 * 3_600_000);
    assert.equal(utcOffsetMs('America/New_York', Date.parse('2026-03-08T07:00:00Z')), -4 * 3_600_000);
    assert.equal(utcOffsetMs('Asia/Kathmandu', Date.parse('2026-06-01T00:00:00Z')), 5.75 * 3_600_000);
  });

  void it('converts days and weekdays', () => {
    assert.equal(isoOfDay(0), '1970-01-01');
    assert.equal(weekdayOfDay(0), 4, 'a Thursday');
    const d = dayOfIso('2026-11-24')!;
    assert.equal(isoOfDay(d), '2026-11-24');
    assert.equal(weekdayOfDay(d), 2, 'a Tuesday');
    assert.equal(isoOfDay(dayOfIso('2028-02-29')!), '2028-02-29');
    assert.equal(dayOfIso('2026-02-29'), undefined);
    assert.equal(isoOfDay(-1), '1969-12-31');
  });
});

void describe('schedule', () => {
  void it('dates are inclusive local days', () => {
    const s = { from: '2026-12-01', to: '2026-12-31' };
    assert.equal(openAt(s, '2026-11-30T23:59'), false);
    assert.equal(openAt(s, '2026-12-01T00:00'), true);
    assert.equal(openAt(s, '2026-12-31T23:59'), true);
    assert.equal(openAt(s, '2027-01-01T00:00'), false);
  });

  void it('hours are [start, end) and several windows are allowed', () => {
    const s = { hours: '11:00-14:00, 17:00-21:00' };
    assert.equal(openAt(s, '2026-11-24T10:59'), false);
    assert.equal(openAt(s, '2026-11-24T11:00'), true);
    assert.equal(openAt(s, '2026-11-24T13:59'), true);
    assert.equal(openAt(s, '2026-11-24T14:00'), false);
    assert.equal(openAt(s, '2026-11-24T18:30'), true);
    assert.equal(openAt(s, '2026-11-24T21:00'), false);
    assert.equal(openAt({ hours: '20:00-24:00' }, '2026-11-24T23:59'), true);
  });

  void it('mixes a day window and an over-midnight window', () => {
    const s = { weekdays: ['sat' as const], hours: '11:00-14:00, 22:00-02:00' };
    assert.equal(openAt(s, '2026-11-28T12:00'), true, 'Saturday lunch');
    assert.equal(openAt(s, '2026-11-29T01:00'), true, 'Saturday night, after midnight');
    assert.equal(openAt(s, '2026-11-29T12:00'), false, 'Sunday lunch');
    assert.equal(openAt(s, '2026-11-28T01:00'), false, 'Friday night, after midnight');
    assert.equal(openAt(s, '2026-11-28T15:00'), false, 'Saturday afternoon');
  });

  void it('weekdays are local weekdays', () => {
    const s = { weekdays: ['sat' as const, 'sun' as const] };
    assert.equal(openAt(s, '2026-11-28T12:00'), true, 'Saturday');
    assert.equal(openAt(s, '2026-11-29T12:00'), true, 'Sunday');
    assert.equal(openAt(s, '2026-11-30T12:00'), false, 'Monday');
  });

  void it('a window over midnight belongs to the day it opened', () => {
    const s = { weekdays: ['fri' as const], hours: '22:00-02:00', to: '2026-11-27' };
    assert.equal(openAt(s, '2026-11-27T21:59'), false, 'Friday before it opens');
    assert.equal(openAt(s, '2026-11-27T22:00'), true, 'Friday 22:00');
    assert.equal(
      openAt(s, '2026-11-28T01:59'),
      true,
      'Saturday 01:59 is still Friday night, even after `to`',
    );
    assert.equal(openAt(s, '2026-11-28T02:00'), false, 'Saturday 02:00 closes');
    assert.equal(openAt(s, '2026-11-28T22:30'), false, 'Saturday night is not a Friday');
    assert.equal(openAt(s, '2026-11-27T01:00'), false, 'Friday 01:00 belongs to Thursday night');
  });

  void it('uses the campaign time zone: one instant, two zones, two answers', () => {
    const at = Date.parse('2026-11-24T12:00:00Z'); // 21:00 in Seoul, 07:00 in New York
    const seoulC = compiled({ id: 'seoul', schedule: { hours: '10:00-23:00', timezone: 'Asia/Seoul' } });
    const nyC = compiled({ id: 'ny', schedule: { hours: '10:00-23:00', timezone: 'America/New_York' } });
    const set = new CampaignSet([seoulC, nyC]);
    const ev = set.evaluate(input(event({ type: 'purchase', occurredAtMs: at }), null));
    assert.deepEqual(
      ev.candidates.map((c) => c.campaignId),
      ['seoul'],
    );
    assert.equal(ev.losses[0]?.campaignId, 'ny');
    assert.equal(ev.losses[0]?.reason, 'outside_schedule');
    assert.match(ev.losses[0].detail!, /Tue 2026-11-24 07:00 America\/New_York/);
  });

  void it('gives `now` in the campaign time zone', () => {
    const at = Date.parse('2026-11-24T15:30:00Z'); // Wed 00:30 in Seoul, Tue 10:30 in New York
    const set = new CampaignSet([
      compiled({
        id: 'kr',
        schedule: { timezone: 'Asia/Seoul' },
        condition: "now.hour == 0 && now.minute == 30 && now.weekday == 3 && now.date == '2026-11-25'",
      }),
      compiled({
        id: 'us',
        schedule: { timezone: 'America/New_York' },
        condition: "now.hour == 10 && now.weekday == 2 && now.date == '2026-11-24'",
      }),
    ]);
    const ev = set.evaluate(input(event({ type: 'purchase', occurredAtMs: at }), null));
    assert.deepEqual(ev.candidates.map((c) => c.campaignId).sort(), ['kr', 'us']);
  });
});
