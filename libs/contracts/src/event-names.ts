// What names events, their channels and their customers' identifiers: constants without validators, in
// '@nunchi/contracts/core' (the DTOs that check them are in events.ts).

export const EVENT_TYPES = [
  'purchase',
  'visit',
  'page_view',
  'product_view',
  'cart',
  'app_open',
  'location',
  'offer_response',
  'profile_update',
] as const;
export type EventType = (typeof EVENT_TYPES)[number];

/**
 * The channel of Nunchi's own events (a fired absence timer: docs/patterns.md). Refused from adapters, so that
 * no adapter's event can take the key (eventKey) of one of them.
 */
export const SYSTEM_CHANNEL = 'system';

/** Channel names are open-ended (adapters add their own) but must be subject tokens. */
export const KNOWN_CHANNELS = ['pos', 'web', 'app', 'callcenter', 'kiosk'] as const;

export const IDENTITY_TYPES = ['loyaltyCard', 'phone', 'email', 'deviceId'] as const;
export type IdentityType = (typeof IDENTITY_TYPES)[number];

/**
 * What names one event inside Nunchi: its channel and its id. Event ids are scoped per adapter — per channel,
 * which is what an adapter's NATS identity may publish on (mkt.in.<channel>.>) — so one adapter's ids cannot
 * shadow another's: the duplicate windows, context's record of applied events and the decision id all use
 * the key, not the bare id. (docs/security.md, "Event ids are scoped per channel".)
 */
export interface EventRef {
  channel: string;
  id: string;
}

/** `<channel>:<id>`: unambiguous, since a channel is a subject token and has no ':'. */
export const eventKey = (event: EventRef): string => `${event.channel}:${event.id}`;
