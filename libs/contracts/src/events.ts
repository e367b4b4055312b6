import 'reflect-metadata';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayMinSize,
  IsArray,
  IsBoolean,
  IsIn,
  IsInt,
  IsISO4217CurrencyCode,
  IsISO8601,
  IsNumber,
  IsObject,
  IsOptional,
  IsString,
  Length,
  Matches,
  Max,
  MaxLength,
  Min,
  ValidateNested,
} from 'class-validator';
import { Describe, IsConsentMap, IsStringMap } from './describe.js';
import { IsText } from './text.js';
import type { SealedField } from './sealed.js';
import { EVENT_TYPES, type EventType } from './event-names.js';

const TOKEN = /^[A-Za-z0-9_-]{1,64}$/;
/** Printable ASCII without spaces: ids travel in NATS headers and subjects' neighbours. */
const PRINTABLE = /^[\x21-\x7e]+$/;
const PHONE = /^\+?[0-9 ()-]{6,24}$/;
/** Linear-time on any input: the domain part is dot-separated labels, so there is one way to match. */
const EMAIL = /^[^@\s]+@[^@\s.]+(?:\.[^@\s.]+)+$/;
/** Money: the currency's major unit (KRW has no minor unit), at most 10^12. */
const MAX_MONEY = 1e12;
/** Lines of one purchase; also what CEL's cost check assumes of event.categories and event.skus. */
export const MAX_PURCHASE_LINES = 500;
const FINITE = { allowNaN: false, allowInfinity: false };
/** Free-form attributes (profiles): bounded so one customer cannot grow without limit. */
export const ATTRIBUTE_BOUNDS = { maxEntries: 50, maxKeyLength: 64, maxValueLength: 256 } as const;
/**
 * Names people write: printable Unicode text (Korean, spaces, punctuation), NFC-normalised at ingestion,
 * in characters (code points). They never become part of a NATS subject or a metric label.
 */
export const NAME_BOUNDS = {
  category: { minLength: 1, maxLength: 100 },
  sku: { minLength: 1, maxLength: 64 },
  productName: { minLength: 1, maxLength: 200 },
  storeName: { minLength: 1, maxLength: 200 },
} as const;
const CATEGORY_TEXT =
  'Printable Unicode text, 1-100 characters ("Beer & Cider", "맥주"); no control characters. Stored NFC-normalised.';
const SKU_TEXT = 'Printable Unicode text, 1-64 characters; no control characters. Stored NFC-normalised.';
const PRODUCT_NAME_TEXT =
  'Printable Unicode text, 1-200 characters; no control characters. Stored NFC-normalised.';

/**
 * One identifier, or two to link them (docs/identity.md). "id" is Nunchi's customer id; the others are resolved
 * through `identities`.
 */
@Describe(
  'One identifier, or two to link them (an app login: deviceId and loyaltyCard; docs/identity.md): both then name one customer, and two customers they named before are merged. "id" is a Nunchi customer id; the others are resolved, and stored only as HMAC under the identity key.',
)
export class CustomerRefDto {
  @IsOptional() @IsString() @Matches(TOKEN, { message: 'id must be 1-64 of [A-Za-z0-9_-]' }) id?: string;
  @IsOptional()
  @IsString()
  @Length(1, 64)
  @Matches(PRINTABLE, { message: 'loyaltyCard must be printable ASCII without spaces' })
  loyaltyCard?: string;
  @IsOptional()
  @IsString()
  @Matches(PHONE, { message: 'phone must be 6-24 digits, optionally with +, spaces, dashes' })
  phone?: string;
  @IsOptional()
  @IsString()
  @MaxLength(254)
  @Matches(EMAIL, { message: 'email must be an address' })
  email?: string;
  @IsOptional()
  @IsString()
  @Length(1, 128)
  @Matches(PRINTABLE, { message: 'deviceId must be printable ASCII without spaces' })
  deviceId?: string;
}
@Describe(
  'A customer event as a channel adapter sends it, on NATS mkt.in.<channel>.<type> or HTTP POST /v1/events.',
)
export class EventEnvelopeDto {
  /** The idempotency key, within the event's channel: the same channel and id are one event, however often sent. */
  @Describe(
    'The idempotency key, scoped by channel: the same channel and id are one event, however often it is sent; another channel may use the same id for another event.',
  )
  @IsString()
  @Length(1, 128)
  @Matches(PRINTABLE, { message: 'id must be printable ASCII without spaces' })
  id!: string;
  @Describe('Decides the payload schema (docs/schemas/payloads/<type>.schema.json) and the subject token.')
  @IsIn(EVENT_TYPES)
  type!: EventType;
  @Describe('pos | web | app | callcenter | kiosk, or any other subject token an adapter uses.')
  @IsString()
  @Matches(TOKEN, { message: 'channel must be 1-64 of [A-Za-z0-9_-]' })
  channel!: string;
  /** ISO-8601 with offset; at most 5 minutes in the future of the receiving clock. */
  @Describe('ISO-8601 date-time with a UTC offset; at most 5 minutes in the future of the receiving clock.')
  @IsString()
  @MaxLength(40)
  @IsISO8601({ strict: true })
  @Matches(/(Z|[+-]\d\d:?\d\d)$/, { message: 'occurredAt must carry a UTC offset' })
  occurredAt!: string;
  @IsObject() @ValidateNested() @Type(() => CustomerRefDto) customer!: CustomerRefDto;
  @Describe(
    'The store the event happened at, a subject token (1-64 of [A-Za-z0-9_-]): offers go to mkt.offers.<channel>.<storeId>. Its human name goes in storeName.',
  )
  @IsOptional()
  @IsString()
  @Matches(TOKEN, { message: 'storeId must be 1-64 of [A-Za-z0-9_-]' })
  storeId?: string;
  @Describe(
    'The store\'s display name beside its id ("분당점", "Bundang #1"): printable Unicode text, 1-200 characters, stored NFC-normalised.',
  )
  @IsOptional()
  @IsText(NAME_BOUNDS.storeName)
  storeName?: string;
  @Describe(
    "The web or app session the event came from, a subject token (1-64 of [A-Za-z0-9_-]): its offers go to mkt.offers.<channel>.session.<sessionId>, where that session's client listens, instead of mkt.offers.<channel>.<storeId>.",
  )
  @IsOptional()
  @IsString()
  @Matches(TOKEN, { message: 'sessionId must be 1-64 of [A-Za-z0-9_-]' })
  sessionId?: string;
  @Describe('Per type: see the payload schemas.')
  @IsObject()
  payload!: Record<string, unknown>;
}

export class LineItemDto {
  @Describe(SKU_TEXT) @IsText(NAME_BOUNDS.sku) sku!: string;
  @Describe(CATEGORY_TEXT) @IsText(NAME_BOUNDS.category) category!: string;
  @Describe('A whole number of units, 1 to 10,000.')
  @IsInt()
  @Min(1)
  @Max(10_000)
  quantity!: number;
  /** In the payment currency's major unit (KRW has no minor unit). */
  @Describe("Price of one unit, in the currency's major unit (KRW has no minor unit).")
  @IsNumber(FINITE)
  @Min(0)
  @Max(MAX_MONEY)
  unitPrice!: number;
  @Describe(PRODUCT_NAME_TEXT) @IsOptional() @IsText(NAME_BOUNDS.productName) name?: string;
}

@Describe('A purchase at a till, kiosk, web or app checkout.')
export class PurchasePayloadDto {
  /** Total paid, in the currency's major unit. Must equal Σ quantity × unitPrice within rounding (see amountTolerance). */
  @Describe(
    "Total paid, in the currency's major unit. Must equal the sum of quantity × unitPrice within rounding: half a minor unit per line plus half for the total, at least one minor unit (1 KRW, 0.01 USD).",
  )
  @IsNumber(FINITE)
  @Min(0)
  @Max(MAX_MONEY)
  amount!: number;
  @Describe('ISO 4217 code, upper case.')
  @IsISO4217CurrencyCode()
  @Matches(/^[A-Z]{3}$/, { message: 'currency must be an upper-case ISO 4217 code' })
  currency!: string;
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(MAX_PURCHASE_LINES)
  @ValidateNested({ each: true })
  @Type(() => LineItemDto)
  items!: LineItemDto[];
  @IsOptional() @IsString() @MaxLength(64) receiptId?: string;
}

@Describe('The customer entered a store (e.g. scanned a loyalty card at the entrance).')
export class VisitPayloadDto {
  @IsOptional() @IsString() @MaxLength(64) entrance?: string;
}

@Describe('A page seen on the web shop.')
export class PageViewPayloadDto {
  @IsString() @MaxLength(2048) url!: string;
  @IsOptional() @IsString() @MaxLength(2048) referrer?: string;
}

@Describe('A product looked at (web, app or kiosk).')
export class ProductViewPayloadDto {
  @Describe(SKU_TEXT) @IsText(NAME_BOUNDS.sku) sku!: string;
  @Describe(CATEGORY_TEXT) @IsText(NAME_BOUNDS.category) category!: string;
  @Describe("Shown price, in the currency's major unit.")
  @IsOptional()
  @IsNumber(FINITE)
  @Min(0)
  @Max(MAX_MONEY)
  price?: number;
}

@Describe('A product added to or removed from a cart.')
export class CartPayloadDto {
  @IsIn(['add', 'remove']) action!: 'add' | 'remove';
  @Describe(SKU_TEXT) @IsText(NAME_BOUNDS.sku) sku!: string;
  @Describe(CATEGORY_TEXT) @IsText(NAME_BOUNDS.category) category!: string;
  @IsInt() @Min(1) @Max(10_000) quantity!: number;
  @Describe("Price of one unit, in the currency's major unit.")
  @IsOptional()
  @IsNumber(FINITE)
  @Min(0)
  @Max(MAX_MONEY)
  unitPrice?: number;
}

@Describe('The mobile app came to the foreground.')
export class AppOpenPayloadDto {
  @IsOptional() @IsString() @MaxLength(32) appVersion?: string;
  @IsOptional() @IsIn(['ios', 'android', 'other']) platform?: string;
}

@Describe('A position reported by the app.')
export class LocationPayloadDto {
  @Describe('Latitude, WGS 84 degrees.')
  @IsNumber(FINITE)
  @Min(-90)
  @Max(90)
  lat!: number;
  @Describe('Longitude, WGS 84 degrees.')
  @IsNumber(FINITE)
  @Min(-180)
  @Max(180)
  lon!: number;
  /** metres */
  @Describe('Radius of uncertainty, metres.')
  @IsOptional()
  @IsNumber(FINITE)
  @Min(0)
  @Max(100_000)
  accuracyM?: number;
}

@Describe("The customer's answer to an offer; decisionId is the offer's decisionId.")
export class OfferResponsePayloadDto {
  @IsString()
  @Length(1, 128)
  @Matches(PRINTABLE, { message: 'decisionId must be printable ASCII without spaces' })
  decisionId!: string;
  @IsIn(['accepted', 'redeemed', 'dismissed']) response!: 'accepted' | 'redeemed' | 'dismissed';
  @IsOptional()
  @IsString()
  @Matches(TOKEN, { message: 'campaignId must be 1-64 of [A-Za-z0-9_-]' })
  campaignId?: string;
}

/** The profile fields a customer has; import lines (CustomerImportDto) extend them with id and identities. */
@Describe("Changes to the customer's profile; absent fields are left as they are.")
export class ProfileUpdatePayloadDto {
  @Describe('Years.')
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(130)
  age?: number;
  @IsOptional() @IsIn(['M', 'F', 'X']) gender?: string;
  @IsOptional() @IsString() @MaxLength(64) region?: string;
  @IsOptional() @IsString() @MaxLength(8) creditTier?: string;
  @IsOptional() @IsBoolean() marketingConsent?: boolean;
  @Describe(
    'Consent to marketing per channel ({"app": false, "pos": true}); a channel absent here follows marketingConsent. A profile_update merges it into the stored one.',
  )
  @IsOptional()
  @IsConsentMap()
  channelConsent?: Record<string, boolean>;
  @Describe(
    'At most 50, keys ≤ 64 and values ≤ 256 characters; a profile_update merges them into the stored ones.',
  )
  @IsOptional()
  @IsStringMap(ATTRIBUTE_BOUNDS)
  attributes?: Record<string, string>;
}

export const PAYLOAD_DTOS: Record<EventType, new () => object> = {
  purchase: PurchasePayloadDto,
  visit: VisitPayloadDto,
  page_view: PageViewPayloadDto,
  product_view: ProductViewPayloadDto,
  cart: CartPayloadDto,
  app_open: AppOpenPayloadDto,
  location: LocationPayloadDto,
  offer_response: OfferResponsePayloadDto,
  profile_update: ProfileUpdatePayloadDto,
};

/** A validated event as it travels on EVENTS: the resolved customer id replaces the raw identifier. */
export interface AcceptedEvent {
  /** as the adapter sent it: unique within its channel only (eventKey names the event) */
  id: string;
  type: EventType;
  channel: string;
  /** as sent, ISO-8601 with offset */
  occurredAt: string;
  /** epoch milliseconds of occurredAt */
  occurredAtMs: number;
  /** epoch milliseconds at which ingestion accepted the event */
  receivedAtMs: number;
  customerId: string;
  storeId?: string;
  /** the store's display name, when the event carried one */
  storeName?: string;
  /** the web or app session the event came from: its offers go to that session (Subjects.offerTo) */
  sessionId?: string;
  payload: Record<string, unknown>;
  /**
   * Set when the event linked two customers (docs/identity.md): it travels first on the absorbed customer's
   * partition (customerId = absorbedId, stage `freeze`), whose owner stops folding into that customer and
   * passes it on to the survivor's partition (customerId = survivorId, stage `absorb`), whose owner merges.
   */
  link?: CustomerLink;
  /** the customer id the event was first accepted for, when it was passed on to the customer that one was merged into */
  forwardedFrom?: string;
}

/**
 * An accepted event as EVENTS carries it (docs/security.md, "Per-customer keys"): the payload — items, amounts,
 * profile values — sealed under the customer's data key (`sealedPayload`), so that the customer's erasure makes
 * every copy unreadable; the rest stays readable, for routing, ordering, deduplication and diagnosis. Ingestion
 * seals under `customerId`'s key (a merge's event under the absorbed customer's, context seals it again for the
 * survivor). Messages from before, and context's own absence events (a pattern key and an event id), are plain
 * AcceptedEvents: EventsMessage is either.
 */
export interface SealedAcceptedEvent extends Omit<AcceptedEvent, 'payload'> {
  sealedPayload: SealedField;
}

/** What a message on EVENTS holds: sealed (SealedAcceptedEvent), or an AcceptedEvent in clear. */
export type EventsMessage = AcceptedEvent | SealedAcceptedEvent;

/**
 * An accepted event as the context stage's DLQ keeps it (docs/security.md, "Personal data in the DLQ"): as
 * EVENTS carried it, the payload sealed (`sealedPayload`), or dropped when the customer was erased already
 * (`payloadDropped`: such an event is refused for ever, nothing is left to replay). The rest stays readable
 * for diagnosis. `nunchi dlq replay` checks that the payload still opens before it puts the event back on
 * EVENTS. Entries from before hold the AcceptedEvent as it was.
 */
export interface DeadLetteredEvent extends Omit<AcceptedEvent, 'payload'> {
  sealedPayload?: SealedField;
  payloadDropped?: 'customer erased';
}

/** A merge on its way through EVENTS: see AcceptedEvent.link. */
export interface CustomerLink {
  survivorId: string;
  absorbedId: string;
  stage: 'freeze' | 'absorb';
}

export interface PurchasePayload {
  amount: number;
  currency: string;
  items: Array<{ sku: string; category: string; quantity: number; unitPrice: number; name?: string }>;
  receiptId?: string;
}

/** One line of a customer import file (NDJSON). Identities are optional and stored only hashed. */
@Describe(
  'One line of a customer import file (NDJSON): `nunchi customers import <file>`. Identities (loyaltyCard, phone, email, deviceId) are stored only as HMAC under the identity key.',
)
export class CustomerImportDto extends ProfileUpdatePayloadDto {
  @IsString() @Matches(TOKEN, { message: 'id must be 1-64 of [A-Za-z0-9_-]' }) id!: string;
  @IsOptional()
  @IsString()
  @Length(1, 64)
  @Matches(PRINTABLE, { message: 'loyaltyCard must be printable ASCII without spaces' })
  loyaltyCard?: string;
  @IsOptional() @IsString() @Matches(PHONE, { message: 'phone must be 6-24 digits' }) phone?: string;
  @IsOptional()
  @IsString()
  @MaxLength(254)
  @Matches(EMAIL, { message: 'email must be an address' })
  email?: string;
  @IsOptional()
  @IsString()
  @Length(1, 128)
  @Matches(PRINTABLE, { message: 'deviceId must be printable ASCII without spaces' })
  deviceId?: string;
}
