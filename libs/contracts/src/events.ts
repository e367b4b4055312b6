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
  IsLatitude,
  IsLongitude,
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

/** Channel names are open-ended (adapters add their own) but must be subject tokens. */
export const KNOWN_CHANNELS = ['pos', 'web', 'app', 'callcenter', 'kiosk'] as const;
const TOKEN = /^[A-Za-z0-9_-]{1,64}$/;

/** Exactly one identifier. "id" is Nunchi's customer id; the others are resolved through `identities`. */
export class CustomerRefDto {
  @IsOptional() @IsString() @Matches(TOKEN, { message: 'id must be 1-64 of [A-Za-z0-9_-]' }) id?: string;
  @IsOptional() @IsString() @Length(1, 64) loyaltyCard?: string;
  @IsOptional() @IsString() @Matches(/^\+?[0-9 ()-]{6,24}$/, { message: 'phone must be 6-24 digits, optionally with +, spaces, dashes' }) phone?: string;
  @IsOptional() @IsString() @MaxLength(254) @Matches(/^[^@\s]+@[^@\s]+\.[^@\s]+$/, { message: 'email must be an address' }) email?: string;
  @IsOptional() @IsString() @Length(1, 128) deviceId?: string;
}
export const IDENTITY_TYPES = ['loyaltyCard', 'phone', 'email', 'deviceId'] as const;
export type IdentityType = (typeof IDENTITY_TYPES)[number];

export class EventEnvelopeDto {
  /** The idempotency key: the same id is one event, however often it is sent. */
  @IsString() @Length(1, 128) @Matches(/^[\x21-\x7e]+$/, { message: 'id must be printable ASCII without spaces' }) id!: string;
  @IsIn(EVENT_TYPES) type!: EventType;
  @IsString() @Matches(TOKEN, { message: 'channel must be 1-64 of [A-Za-z0-9_-]' }) channel!: string;
  /** ISO-8601 with offset; at most 5 minutes in the future of the receiving clock. */
  @IsString() @IsISO8601({ strict: true }) @Matches(/(Z|[+-]\d\d:?\d\d)$/, { message: 'occurredAt must carry a UTC offset' }) occurredAt!: string;
  @IsObject() @ValidateNested() @Type(() => CustomerRefDto) customer!: CustomerRefDto;
  @IsOptional() @IsString() @Matches(TOKEN, { message: 'storeId must be 1-64 of [A-Za-z0-9_-]' }) storeId?: string;
  @IsObject() payload!: Record<string, unknown>;
}

export class LineItemDto {
  @IsString() @Length(1, 64) sku!: string;
  @IsString() @Matches(TOKEN, { message: 'category must be 1-64 of [A-Za-z0-9_-]' }) category!: string;
  @IsInt() @Min(1) @Max(10_000) quantity!: number;
  /** In the payment currency's major unit (KRW has no minor unit). */
  @IsNumber({ allowNaN: false, allowInfinity: false }) @Min(0) @Max(1e12) unitPrice!: number;
  @IsOptional() @IsString() @MaxLength(200) name?: string;
}

export class PurchasePayloadDto {
  /** Total paid, in the currency's major unit. Must equal Σ quantity × unitPrice within 1 unit (rounding). */
  @IsNumber({ allowNaN: false, allowInfinity: false }) @Min(0) @Max(1e12) amount!: number;
  @IsISO4217CurrencyCode() currency!: string;
  @IsArray() @ArrayMinSize(1) @ArrayMaxSize(500) @ValidateNested({ each: true }) @Type(() => LineItemDto) items!: LineItemDto[];
  @IsOptional() @IsString() @MaxLength(64) receiptId?: string;
}

export class VisitPayloadDto {
  @IsOptional() @IsString() @MaxLength(64) entrance?: string;
}

export class PageViewPayloadDto {
  @IsString() @MaxLength(2048) url!: string;
  @IsOptional() @IsString() @MaxLength(2048) referrer?: string;
}

export class ProductViewPayloadDto {
  @IsString() @Length(1, 64) sku!: string;
  @IsString() @Matches(TOKEN) category!: string;
  @IsOptional() @IsNumber({ allowNaN: false, allowInfinity: false }) @Min(0) price?: number;
}

export class CartPayloadDto {
  @IsIn(['add', 'remove']) action!: 'add' | 'remove';
  @IsString() @Length(1, 64) sku!: string;
  @IsString() @Matches(TOKEN) category!: string;
  @IsInt() @Min(1) @Max(10_000) quantity!: number;
  @IsOptional() @IsNumber({ allowNaN: false, allowInfinity: false }) @Min(0) unitPrice?: number;
}

export class AppOpenPayloadDto {
  @IsOptional() @IsString() @MaxLength(32) appVersion?: string;
  @IsOptional() @IsIn(['ios', 'android', 'other']) platform?: string;
}

export class LocationPayloadDto {
  @IsLatitude() lat!: number;
  @IsLongitude() lon!: number;
  /** metres */
  @IsOptional() @IsNumber() @Min(0) @Max(100_000) accuracyM?: number;
}

export class OfferResponsePayloadDto {
  @IsString() @Length(1, 128) decisionId!: string;
  @IsIn(['accepted', 'redeemed', 'dismissed']) response!: 'accepted' | 'redeemed' | 'dismissed';
  @IsOptional() @IsString() @Matches(TOKEN) campaignId?: string;
}

export class ProfileUpdatePayloadDto {
  @IsOptional() @IsInt() @Min(0) @Max(130) age?: number;
  @IsOptional() @IsIn(['M', 'F', 'X']) gender?: string;
  @IsOptional() @IsString() @MaxLength(64) region?: string;
  @IsOptional() @IsString() @MaxLength(8) creditTier?: string;
  @IsOptional() @IsBoolean() marketingConsent?: boolean;
  @IsOptional() @IsObject() attributes?: Record<string, string>;
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
  payload: Record<string, unknown>;
}

export interface PurchasePayload {
  amount: number;
  currency: string;
  items: Array<{ sku: string; category: string; quantity: number; unitPrice: number; name?: string }>;
  receiptId?: string;
}

/** One line of a customer import file (NDJSON). Identities are optional; phone and email are stored hashed. */
export class CustomerImportDto {
  @IsString() @Matches(TOKEN, { message: 'id must be 1-64 of [A-Za-z0-9_-]' }) id!: string;
  @IsOptional() @IsInt() @Min(0) @Max(130) age?: number;
  @IsOptional() @IsIn(['M', 'F', 'X']) gender?: string;
  @IsOptional() @IsString() @MaxLength(64) region?: string;
  @IsOptional() @IsString() @MaxLength(8) creditTier?: string;
  @IsOptional() @IsBoolean() marketingConsent?: boolean;
  @IsOptional() @IsObject() attributes?: Record<string, string>;
  @IsOptional() @IsString() @Length(1, 64) loyaltyCard?: string;
  @IsOptional() @IsString() @Matches(/^\+?[0-9 ()-]{6,24}$/, { message: 'phone must be 6-24 digits' }) phone?: string;
  @IsOptional() @IsString() @MaxLength(254) @Matches(/^[^@\s]+@[^@\s]+\.[^@\s]+$/, { message: 'email must be an address' }) email?: string;
  @IsOptional() @IsString() @Length(1, 128) deviceId?: string;
}
