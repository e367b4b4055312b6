import { describeQuietHours, minuteOfDayText, type ContactPolicy } from '@nunchi/contracts/core';
import type { CustomerProfile } from '@nunchi/contracts';
import { utcOffsetMs } from './local-time.js';

/** The customer's word on marketing through `channel`: the channel's own, else the general one, else unknown. */
export function consentOn(customer: CustomerProfile | null, channel: string): boolean | undefined {
  const own = customer?.channelConsent;
  if (own && Object.hasOwn(own, channel)) return own[channel];
  return customer?.marketingConsent;
}

/**
 * Why no campaign may make an offer on `channel` to this customer at `nowMs`, or undefined when the policy
 * allows it: a refusal of consent (or no consent where the channel needs opt-in), or the channel's quiet
 * hours in `timeZone`. The detail goes into every campaign's loss, so explanations say it.
 */
export function contactRefusal(
  policy: ContactPolicy,
  customer: CustomerProfile | null,
  channel: string,
  nowMs: number,
  timeZone: string,
): string | undefined {
  const consent = consentOn(customer, channel);
  if (consent === false) return `the customer refused marketing on ${channel}`;
  if (consent === undefined && policy.optInChannels.includes(channel))
    return `no marketing consent on ${channel}, which needs it (NUNCHI_CONSENT_OPT_IN_CHANNELS)`;
  const quiet = Object.hasOwn(policy.quietHours, channel) ? policy.quietHours[channel] : undefined;
  if (quiet) {
    const minute = Math.floor(
      ((((nowMs + utcOffsetMs(timeZone, nowMs)) % 86_400_000) + 86_400_000) % 86_400_000) / 60_000,
    );
    const inside =
      quiet.fromMinute < quiet.toMinute
        ? minute >= quiet.fromMinute && minute < quiet.toMinute
        : minute >= quiet.fromMinute || minute < quiet.toMinute;
    if (inside)
      return `quiet hours on ${channel} (${describeQuietHours(quiet)}, now ${minuteOfDayText(minute)} ${timeZone})`;
  }
  return undefined;
}
