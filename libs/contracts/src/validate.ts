import { plainToInstance } from 'class-transformer';
import { getMetadataStorage, validateSync, type ValidationError } from 'class-validator';
import { didYouMean } from './did-you-mean.js';
import { compileDtoCheck, type DtoCheck } from './dto-check.js';
import { ContractError, type ProblemDetail } from './errors.js';
import { CustomerImportDto, EventEnvelopeDto, PAYLOAD_DTOS, type AcceptedEvent } from './events.js';
import { EVENT_TYPES, SYSTEM_CHANNEL, type EventType } from './event-names.js';
import { isWellFormedText, normalizeStrings } from './text.js';

/** How far in the future occurredAt may lie, milliseconds (clock skew between tills and us). */
export const MAX_FUTURE_SKEW_MS = 5 * 60_000;
/** Nesting depth and key count beyond which a body is refused before any validation work. */
export const MAX_DEPTH = 8;
/** A purchase of 500 lines with every field is ~3,000 keys. */
export const MAX_KEYS = 4_000;
/** characters; the longest field (a URL) is 2,048: longer strings are refused before any pattern runs on them */
export const MAX_STRING_LENGTH = 4_096;
/** characters; no DTO has a longer property name, and error paths echo keys */
export const MAX_KEY_LENGTH = 64;
const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

const VALIDATOR_OPTIONS = {
  whitelist: true,
  forbidNonWhitelisted: true,
  forbidUnknownValues: true,
  // target: the object holding each bad property (its class names the known properties for "did you mean")
  validationError: { target: true, value: true },
};

const join = (path: string, key: string) => (path ? `${path}.${key}` : key);

/** Refuses prototype-polluting keys, deep nesting and huge objects before class-transformer touches them. */
export function guardStructure(raw: unknown): ProblemDetail[] {
  const problems: ProblemDetail[] = [];
  let keys = 0;
  // Paths are built only when a problem is found: the walk runs on every event.
  const walk = (value: unknown, path: () => string, depth: number): void => {
    if (problems.length >= 10) return;
    if (typeof value === 'string') {
      if (value.length > MAX_STRING_LENGTH)
        problems.push({ path: path(), message: `string longer than ${MAX_STRING_LENGTH} characters` });
      else if (!isWellFormedText(value))
        problems.push({ path: path(), message: 'not well-formed Unicode (lone surrogate)' });
      return;
    }
    if (value === null || typeof value !== 'object') return;
    if (depth > MAX_DEPTH) {
      problems.push({ path: path(), message: `nesting deeper than ${MAX_DEPTH} levels` });
      return;
    }
    if (Array.isArray(value)) {
      for (let i = 0; i < value.length; i++) {
        if (++keys > MAX_KEYS)
          return void problems.push({ path: path(), message: `more than ${MAX_KEYS} keys in the body` });
        walk(value[i], () => `${path()}[${i}]`, depth + 1);
      }
      return;
    }
    for (const key of Object.keys(value)) {
      if (++keys > MAX_KEYS)
        return void problems.push({ path: path(), message: `more than ${MAX_KEYS} keys in the body` });
      const parent = path;
      if (key.length > MAX_KEY_LENGTH) {
        problems.push({
          path: `${join(parent(), key.slice(0, 32))}…`,
          message: `key longer than ${MAX_KEY_LENGTH} characters`,
        });
        continue;
      }
      const childPath = () => join(parent(), key);
      if (FORBIDDEN_KEYS.has(key)) problems.push({ path: childPath(), message: 'forbidden key' });
      walk((value as Record<string, unknown>)[key], childPath, depth + 1);
    }
  };
  walk(raw, () => '', 0);
  return problems;
}

/**
 * class-validator's constraints that say what type a value must have. When one fails, the value's other
 * constraints (ranges, lengths, patterns) say nothing useful: one message per bad value.
 */
const TYPE_MESSAGES: Record<string, string> = {
  isString: 'must be a string',
  isNumber: 'must be a number',
  isInt: 'must be a whole number',
  isBoolean: 'must be true or false',
  isArray: 'must be an array',
  isObject: 'must be an object',
  nestedValidation: 'must be an object',
};

/** Known property names of a DTO class, for "did you mean" on an unknown one. */
function propertiesOf(target: object | undefined): string[] {
  if (!target || typeof target !== 'object') return [];
  return [
    ...new Set(
      getMetadataStorage()
        .getTargetValidationMetadatas(target.constructor, '', true, false)
        .map((m) => m.propertyName),
    ),
  ];
}

/**
 * class-validator's error tree as `path: message` problems: the message does not repeat the path, a value
 * of the wrong type gets one message (not one per constraint), and an unknown property names the known
 * one it is closest to.
 */
function flatten(errors: ValidationError[], prefix: string, out: ProblemDetail[]): ProblemDetail[] {
  for (const error of errors) {
    const path = /^\d+$/.test(error.property)
      ? `${prefix}[${error.property}]`
      : prefix
        ? `${prefix}.${error.property}`
        : error.property;
    const constraints = error.constraints ?? {};
    const keys = Object.keys(constraints);
    if (constraints['whitelistValidation']) {
      out.push({
        path,
        message: `unknown property${didYouMean(error.property, propertiesOf(error.target))}`,
      });
    } else if (error.value === undefined && keys.length) {
      // A missing field fails every rule it has; one line says it better.
      out.push({ path, message: 'required' });
    } else {
      const typeKey = keys.find((k) => TYPE_MESSAGES[k]);
      if (typeKey) out.push({ path, message: TYPE_MESSAGES[typeKey] });
      else
        for (const key of keys)
          out.push({ path, message: withoutProperty(constraints[key], error.property) });
    }
    if (error.children?.length) flatten(error.children, path, out);
  }
  return out;
}

/** "amount must not be less than 0" → "must not be less than 0": the path already names the property. */
function withoutProperty(message: string, property: string): string {
  return message.startsWith(`${property} `) ? message.slice(property.length + 1) : message;
}

export interface ValidateOptions {
  /** epoch milliseconds of the receiving clock */
  nowMs: number;
  /** when the event came in on mkt.in.<channel>.<type>, its tokens must agree with the body */
  subject?: { channel: string; type: string };
  /** the channels the sender may send for (an adapter's API key, on the HTTP door); undefined: any */
  channels?: readonly string[];
}

const envelopeCheck = compileDtoCheck(EventEnvelopeDto);
const payloadChecks = Object.fromEntries(
  EVENT_TYPES.map((t) => [t, compileDtoCheck(PAYLOAD_DTOS[t])]),
) as Record<EventType, DtoCheck>;

/**
 * Validates a decoded body as an event envelope with its per-type payload and returns it as a plain object
 * (typed by the DTO). Throws ContractError listing every problem.
 *
 * A valid event takes the compiled check (dto-check.ts: same decorators, ~20× cheaper); anything else is
 * judged by the full class-validator run, which is the authority and lists every problem by path.
 */
export function validateEvent(raw: unknown, options: ValidateOptions): EventEnvelopeDto {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new ContractError('VALIDATION_FAILED', [{ path: '', message: 'an event must be a JSON object' }]);
  }
  const structural = guardStructure(raw);
  if (structural.length) throw new ContractError('VALIDATION_FAILED', structural);
  // NFC before any check: equal names are equal strings from here on (rollups, CEL, stored events).
  const body = normalizeStrings(raw);
  return acceptedAsIs(body as Record<string, unknown>, options) ?? validateEventFully(body, options);
}

/** The compiled check: the event itself when it is valid, undefined when the full run must judge it. */
function acceptedAsIs(raw: Record<string, unknown>, options: ValidateOptions): EventEnvelopeDto | undefined {
  if (!envelopeCheck(raw)) return undefined;
  const event = raw as unknown as EventEnvelopeDto;
  const given = identifiersGiven(event.customer as unknown as Record<string, unknown>);
  if (given < 1 || given > MAX_IDENTIFIERS) return undefined;
  if (!payloadChecks[event.type](event.payload)) return undefined;
  if (crossFieldProblems(event.type, event.payload).length) return undefined;
  const at = Date.parse(event.occurredAt);
  if (Number.isNaN(at) || at > options.nowMs + MAX_FUTURE_SKEW_MS) return undefined;
  if (options.subject && (event.channel !== options.subject.channel || event.type !== options.subject.type))
    return undefined;
  if (event.channel === SYSTEM_CHANNEL) return undefined;
  if (options.channels && !options.channels.includes(event.channel)) return undefined;
  return event;
}

const IDENTIFIERS = ['id', 'loyaltyCard', 'phone', 'email', 'deviceId'] as const;
/** An event names its customer by one identifier, or by two that it links (docs/identity.md). */
export const MAX_IDENTIFIERS = 2;
function identifiersGiven(c: Record<string, unknown>): number {
  let n = 0;
  for (const k of IDENTIFIERS) if (c[k] !== undefined) n++;
  return n;
}

/**
 * The reference: class-validator's full run, listing every problem. validateEvent answers the same, faster
 * for valid events; exported so a spec can hold the two to that.
 */
export function validateEventFully(raw: object, options: ValidateOptions): EventEnvelopeDto {
  const envelope = plainToInstance(EventEnvelopeDto, raw, { enableImplicitConversion: false });
  const problems = flatten(validateSync(envelope, VALIDATOR_OPTIONS), '', []);
  const c = envelope.customer as unknown as Record<string, unknown> | undefined;
  if (c && typeof c === 'object') {
    const given = identifiersGiven(c);
    if (given < 1 || given > MAX_IDENTIFIERS)
      problems.push({
        path: 'customer',
        message: `one of id, loyaltyCard, phone, email, deviceId is required, or two to link them (got ${given})`,
      });
  }
  const payloadDto = PAYLOAD_DTOS[envelope.type];
  if (
    payloadDto &&
    envelope.payload &&
    typeof envelope.payload === 'object' &&
    !Array.isArray(envelope.payload)
  ) {
    const payload: object = plainToInstance(payloadDto, envelope.payload, {
      enableImplicitConversion: false,
    });
    flatten(validateSync(payload, VALIDATOR_OPTIONS), 'payload', problems);
    if (!problems.length) {
      envelope.payload = instanceToPlainObject(payload);
      problems.push(...crossFieldProblems(envelope.type, envelope.payload));
    }
  }
  if (typeof envelope.occurredAt === 'string' && !problems.some((p) => p.path === 'occurredAt')) {
    const at = Date.parse(envelope.occurredAt);
    if (Number.isNaN(at)) problems.push({ path: 'occurredAt', message: 'not a valid instant' });
    else if (at > options.nowMs + MAX_FUTURE_SKEW_MS)
      problems.push({ path: 'occurredAt', message: 'more than 5 minutes in the future' });
  }
  if (envelope.channel === SYSTEM_CHANNEL)
    problems.push({
      path: 'channel',
      message: `"${SYSTEM_CHANNEL}" is reserved for Nunchi's own events (absence timers)`,
    });
  if (options.subject) {
    if (envelope.channel !== options.subject.channel)
      problems.push({
        path: 'channel',
        message: `"${envelope.channel}" disagrees with the subject's channel "${options.subject.channel}"`,
      });
    if (envelope.type !== options.subject.type)
      problems.push({
        path: 'type',
        message: `"${envelope.type}" disagrees with the subject's type "${options.subject.type}"`,
      });
  }
  if (options.channels && !options.channels.includes(envelope.channel))
    problems.push({
      path: 'channel',
      message: `"${envelope.channel}" is not a channel this API key may send for (${options.channels.join(', ')})`,
    });
  if (problems.length) throw new ContractError('VALIDATION_FAILED', problems);
  return { ...envelope, customer: { ...envelope.customer } };
}

/** Rules across fields of a payload that passed its DTO. */
function crossFieldProblems(type: EventType, payload: Record<string, unknown>): ProblemDetail[] {
  if (type !== 'purchase') return [];
  const { amount, currency, items } = payload as {
    amount: number;
    currency: string;
    items: Array<{ quantity: number; unitPrice: number }>;
  };
  let sum = 0;
  for (const item of items) sum += item.quantity * item.unitPrice;
  const tolerance = amountTolerance(currency, items.length);
  // The relative epsilon absorbs binary floating point (0.1 + 0.2), not money.
  if (Math.abs(sum - amount) <= tolerance + 1e-9 * Math.max(1, Math.abs(sum))) return [];
  return [
    {
      path: 'payload.amount',
      message: `${amount} disagrees with the items' total ${sum} (allowed difference for rounding: ${tolerance} ${currency})`,
    },
  ];
}

const minorUnits = new Map<string, number>();

/** One minor unit of a currency, in its major unit (KRW 1, USD 0.01, BHD 0.001), from the runtime's ISO 4217 data. */
export function minorUnitOf(currency: string): number {
  let unit = minorUnits.get(currency);
  if (unit === undefined) {
    let digits = 2;
    try {
      digits =
        new Intl.NumberFormat('en', { style: 'currency', currency }).resolvedOptions()
          .maximumFractionDigits ?? 2;
    } catch {
      // not a currency the runtime knows: the DTO has rejected it already; 2 digits is the common case
    }
    unit = 10 ** -digits;
    if (minorUnits.size < 1_000) minorUnits.set(currency, unit);
  }
  return unit;
}

/**
 * How far a purchase amount may lie from Σ quantity × unitPrice, in the currency's major unit: each line
 * total and the amount may each be rounded to the minor unit (half a unit each), and never less than one
 * minor unit. KRW with 3 lines: 2; USD with 1 line: 0.01.
 */
export function amountTolerance(currency: string, lines: number): number {
  return Math.max(1, (lines + 1) / 2) * minorUnitOf(currency);
}

function instanceToPlainObject(value: object): Record<string, unknown> {
  return JSON.parse(JSON.stringify(value)) as Record<string, unknown>;
}

/** The AcceptedEvent that travels on EVENTS, once identity is resolved. */
export function toAcceptedEvent(
  envelope: EventEnvelopeDto,
  customerId: string,
  receivedAtMs: number,
): AcceptedEvent {
  return {
    id: envelope.id,
    type: envelope.type,
    channel: envelope.channel,
    occurredAt: envelope.occurredAt,
    occurredAtMs: Date.parse(envelope.occurredAt),
    receivedAtMs,
    customerId,
    ...(envelope.storeId ? { storeId: envelope.storeId } : {}),
    ...(envelope.storeName ? { storeName: envelope.storeName } : {}),
    ...(envelope.sessionId ? { sessionId: envelope.sessionId } : {}),
    payload: envelope.payload,
  };
}

/** Validates one customer import line. Throws ContractError listing every problem. */
export function validateCustomerImport(raw: unknown): CustomerImportDto {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw))
    throw new ContractError('VALIDATION_FAILED', [{ path: '', message: 'a customer must be a JSON object' }]);
  const structural = guardStructure(raw);
  if (structural.length) throw new ContractError('VALIDATION_FAILED', structural);
  const dto = plainToInstance(CustomerImportDto, normalizeStrings(raw), { enableImplicitConversion: false });
  const problems = flatten(validateSync(dto, VALIDATOR_OPTIONS), '', []);
  if (problems.length) throw new ContractError('VALIDATION_FAILED', problems);
  return dto;
}

/**
 * Validates a plain decoded object against a DTO class (class-validator), with the problems by path as every
 * door reports them. Throws ContractError('VALIDATION_FAILED').
 */
export function validateDto<T extends object>(dto: new () => T, raw: unknown): T {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw))
    throw new ContractError('VALIDATION_FAILED', [{ path: '', message: 'must be a JSON object' }]);
  const instance = plainToInstance(dto, normalizeStrings(raw), { enableImplicitConversion: false });
  const problems = flatten(validateSync(instance, VALIDATOR_OPTIONS), '', []);
  if (problems.length) throw new ContractError('VALIDATION_FAILED', problems);
  return instance;
}

/** Whether a class carries class-validator constraints (is a DTO validateDto can check). */
export function isDtoClass(type: unknown): type is new () => object {
  return (
    typeof type === 'function' &&
    getMetadataStorage().getTargetValidationMetadatas(type, '', true, false).length > 0
  );
}
