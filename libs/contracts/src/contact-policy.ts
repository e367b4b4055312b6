/**
 * The contact policy every campaign obeys whatever its CEL says: consent per channel and quiet hours, set by
 * the operator (NUNCHI_CONSENT_OPT_IN_CHANNELS, NUNCHI_QUIET_HOURS) and checked by the decision engine
 * (libs/rules contactRefusal) before any campaign is evaluated.
 */
export interface ContactPolicy {
  /**
   * channels where an offer needs the customer's explicit consent (channelConsent[channel], else
   * marketingConsent, must be true); on every other channel only an explicit refusal stops an offer
   */
  optInChannels: readonly string[];
  /** channel → the hours of the business day when no offer goes out on it */
  quietHours: Readonly<Record<string, QuietHours>>;
}

/** Minutes since local midnight (business time zone): no offer from `fromMinute` (inclusive) to `toMinute` (exclusive); wraps midnight when from > to. */
export interface QuietHours {
  fromMinute: number;
  toMinute: number;
}

export const NO_CONTACT_POLICY: ContactPolicy = Object.freeze({
  optInChannels: [],
  quietHours: Object.freeze({}),
});

const HHMM = /^([01]\d|2[0-3]):([0-5]\d)$/;
const CHANNEL = /^[A-Za-z0-9_-]{1,64}$/;

/**
 * Parses `app=21:00-08:00,web=21:00-08:00` (channel=HH:MM-HH:MM, local time, comma-separated; '' = none).
 * Throws an Error naming the item that is wrong.
 */
export function parseQuietHours(text: string): Record<string, QuietHours> {
  const out: Record<string, QuietHours> = {};
  for (const raw of text.split(',')) {
    const item = raw.trim();
    if (item === '') continue;
    const m = /^([^=]+)=([^-]+)-(.+)$/.exec(item);
    const channel = m?.[1]?.trim() ?? '';
    const from = HHMM.exec(m?.[2]?.trim() ?? '');
    const to = HHMM.exec(m?.[3]?.trim() ?? '');
    if (!m || !CHANNEL.test(channel) || !from || !to)
      throw new Error(`"${item}" must be <channel>=HH:MM-HH:MM, e.g. app=21:00-08:00`);
    const fromMinute = Number(from[1]) * 60 + Number(from[2]);
    const toMinute = Number(to[1]) * 60 + Number(to[2]);
    if (fromMinute === toMinute)
      throw new Error(`"${item}": the quiet hours start and end at the same minute`);
    if (Object.hasOwn(out, channel)) throw new Error(`"${item}": ${channel} has quiet hours twice`);
    out[channel] = { fromMinute, toMinute };
  }
  return out;
}

/** Parses `app,web` (channel tokens, comma-separated; '' = none); throws naming a bad item. */
export function parseChannelList(text: string): string[] {
  const channels = text
    .split(',')
    .map((c) => c.trim())
    .filter(Boolean);
  for (const c of channels)
    if (!CHANNEL.test(c)) throw new Error(`"${c}" is not a channel ([A-Za-z0-9_-]{1,64})`);
  return [...new Set(channels)];
}

/** `21:05` for minute 1265 of the day */
export function minuteOfDayText(minute: number): string {
  return `${String(Math.floor(minute / 60)).padStart(2, '0')}:${String(minute % 60).padStart(2, '0')}`;
}

/** `21:00-08:00` */
export function describeQuietHours(q: QuietHours): string {
  return `${minuteOfDayText(q.fromMinute)}-${minuteOfDayText(q.toMinute)}`;
}
