import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseChannelList, parseQuietHours, type ContactPolicy } from '@nunchi/contracts/core';
import { CampaignSet } from './campaign-set.js';
import { consentOn, contactRefusal } from './contact-policy.js';
import { compiled, event, input, profile, seoul } from './testing/fixtures.js';

const TZ = 'Asia/Seoul';
const policy: ContactPolicy = {
  optInChannels: ['app'],
  quietHours: parseQuietHours('app=21:00-08:00, pos=12:00-13:00'),
};

void describe('parseQuietHours and parseChannelList: the operator’s settings', () => {
  void it('reads channel=HH:MM-HH:MM items, wrapping midnight, and nothing from an empty text', () => {
    assert.deepEqual(parseQuietHours('app=21:00-08:00,web=22:30-23:00'), {
      app: { fromMinute: 1260, toMinute: 480 },
      web: { fromMinute: 1350, toMinute: 1380 },
    });
    assert.deepEqual(parseQuietHours(''), {});
    assert.deepEqual(parseChannelList(' app, web ,app'), ['app', 'web']);
  });

  void it('refuses what it cannot read, naming the item', () => {
    assert.throws(() => parseQuietHours('app=21-08'), /"app=21-08" must be <channel>=HH:MM-HH:MM/);
    assert.throws(() => parseQuietHours('app=24:00-08:00'), /must be <channel>=HH:MM-HH:MM/);
    assert.throws(() => parseQuietHours('app=08:00-08:00'), /start and end at the same minute/);
    assert.throws(() => parseQuietHours('app=21:00-08:00,app=22:00-07:00'), /app has quiet hours twice/);
    assert.throws(() => parseChannelList('app,we b'), /"we b" is not a channel/);
  });
});

void describe('contactRefusal: consent per channel and quiet hours, for every campaign', () => {
  const noon = seoul('2026-11-24T10:30'); // a Tuesday morning in Seoul
  void it('follows the channel’s own consent, else the general one', () => {
    assert.equal(
      consentOn(profile('c', { marketingConsent: true, channelConsent: { app: false } }), 'app'),
      false,
    );
    assert.equal(
      consentOn(profile('c', { marketingConsent: false, channelConsent: { app: true } }), 'pos'),
      false,
    );
    assert.equal(consentOn(profile('c'), 'pos'), undefined);
    assert.equal(consentOn(null, 'pos'), undefined);
  });

  void it('stops a refused channel everywhere, and an unknown consent only where opt-in is required', () => {
    const refused = profile('c', { channelConsent: { pos: false } });
    assert.equal(contactRefusal(policy, refused, 'pos', noon, TZ), 'the customer refused marketing on pos');
    assert.equal(contactRefusal(policy, profile('c'), 'pos', noon, TZ), undefined);
    assert.match(
      contactRefusal(policy, profile('c'), 'app', noon, TZ)!,
      /no marketing consent on app, which needs it/,
    );
    assert.equal(
      contactRefusal(policy, profile('c', { marketingConsent: true }), 'app', noon, TZ),
      undefined,
    );
  });

  void it('keeps quiet hours in the business time zone, across midnight, end excluded', () => {
    const yes = profile('c', { marketingConsent: true });
    assert.equal(
      contactRefusal(policy, yes, 'app', seoul('2026-11-24T21:00'), TZ),
      'quiet hours on app (21:00-08:00, now 21:00 Asia/Seoul)',
    );
    assert.match(contactRefusal(policy, yes, 'app', seoul('2026-11-25T07:59'), TZ)!, /now 07:59/);
    assert.equal(contactRefusal(policy, yes, 'app', seoul('2026-11-25T08:00'), TZ), undefined);
    assert.match(
      contactRefusal(policy, yes, 'pos', seoul('2026-11-24T12:30'), TZ)!,
      /quiet hours on pos \(12:00-13:00/,
    );
    assert.equal(contactRefusal(policy, yes, 'web', seoul('2026-11-24T23:00'), TZ), undefined);
  });

  void it('is every campaign’s contact_policy loss in an evaluation', () => {
    const set = new CampaignSet([compiled({ id: 'a' }), compiled({ id: 'b' })], {
      contactPolicy: policy,
      timeZone: TZ,
    });
    const e = event({ type: 'purchase', channel: 'pos', occurredAtMs: noon });
    const refused = set.evaluate(input(e, profile(e.customerId, { marketingConsent: false })));
    assert.deepEqual(refused.candidates, []);
    assert.deepEqual(
      refused.losses.map((l) => [l.campaignId, l.reason, l.detail]),
      [
        ['a', 'contact_policy', 'the customer refused marketing on pos'],
        ['b', 'contact_policy', 'the customer refused marketing on pos'],
      ],
    );
    assert.equal(set.evaluate(input(e, profile(e.customerId))).candidates.length, 2);
  });
});
