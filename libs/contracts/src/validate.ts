import { plainToInstance } from 'class-transformer';
import { validateSync, type ValidationError } from 'class-validator';
import { ContractError, type ProblemDetail } from './errors.js';
import { CustomerImportDto, EventEnvelopeDto, PAYLOAD_DTOS, type AcceptedEvent } from './events.js';

/** How far in the future occurredAt may lie, milliseconds (clock skew between tills and us). */
export const MAX_FUTURE_SKEW_MS = 5 * 60_000;
/** Nesting depth and key count beyond which a body is refused before any validation work. */
export const MAX_DEPTH = 8;
export const MAX_KEYS = 2_000;
const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

const VALIDATOR_OPTIONS = { whitelist: true, forbidNonWhitelisted: true, forbidUnknownValues: true, validationError: { target: false, value: false } };

/** Refuses prototype-polluting keys, deep nesting and huge objects before class-transformer touches them. */
export function guardStructure(raw: unknown): ProblemDetail[] {
  const problems: ProblemDetail[] = [];
  let keys = 0;
  const walk = (value: unknown, path: string, depth: number): void => {
    if (problems.length >= 10) return;
    if (value === null || typeof value !== 'object') return;
    if (depth > MAX_DEPTH) {
      problems.push({ path, message: `nesting deeper than ${MAX_DEPTH} levels` });
      return;
    }
    const entries = Array.isArray(value) ? value.map((v, i) => [String(i), v] as const) : Object.entries(value);
    for (const [key, child] of entries) {
      if (++keys > MAX_KEYS) {
        problems.push({ path, message: `more than ${MAX_KEYS} keys in the body` });
        return;
      }
      const childPath = Array.isArray(value) ? `${path}[${key}]` : path ? `${path}.${key}` : key;
      if (!Array.isArray(value) && FORBIDDEN_KEYS.has(key)) problems.push({ path: childPath, message: 'forbidden key' });
      walk(child, childPath, depth + 1);
    }
  };
  walk(raw, '', 0);
  return problems;
}

function flatten(errors: ValidationError[], prefix: string, out: ProblemDetail[]): ProblemDetail[] {
  for (const error of errors) {
    const path = /^\d+$/.test(error.property) ? `${prefix}[${error.property}]` : prefix ? `${prefix}.${error.property}` : error.property;
    for (const message of Object.values(error.constraints ?? {})) {
      out.push({ path, message: message.replace(/^property (\S+) should not exist$/, 'unknown property') });
    }
    if (error.children?.length) flatten(error.children, path, out);
  }
  return out;
}

export interface ValidateOptions {
  /** epoch milliseconds of the receiving clock */
  nowMs: number;
  /** when the event came in on mkt.in.<channel>.<type>, its tokens must agree with the body */
  subject?: { channel: string; type: string };
}

/** Validates a decoded body as an event envelope with its per-type payload. Throws ContractError listing every problem. */
export function validateEvent(raw: unknown, options: ValidateOptions): EventEnvelopeDto {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new ContractError('VALIDATION_FAILED', [{ path: '', message: 'an event must be a JSON object' }]);
  }
  const structural = guardStructure(raw);
  if (structural.length) throw new ContractError('VALIDATION_FAILED', structural);

  const envelope = plainToInstance(EventEnvelopeDto, raw, { enableImplicitConversion: false });
  const problems = flatten(validateSync(envelope, VALIDATOR_OPTIONS), '', []);
  const c = envelope.customer as unknown as Record<string, unknown> | undefined;
  if (c && typeof c === 'object') {
    const given = ['id', 'loyaltyCard', 'phone', 'email', 'deviceId'].filter((k) => c[k] !== undefined);
    if (given.length !== 1) problems.push({ path: 'customer', message: `exactly one of id, loyaltyCard, phone, email, deviceId is required (got ${given.length})` });
  }
  const payloadDto = PAYLOAD_DTOS[envelope.type];
  if (payloadDto && envelope.payload && typeof envelope.payload === 'object' && !Array.isArray(envelope.payload)) {
    const payload: object = plainToInstance(payloadDto, envelope.payload, { enableImplicitConversion: false });
    flatten(validateSync(payload, VALIDATOR_OPTIONS), 'payload', problems);
    if (!problems.length) {
      crossFieldChecks(envelope.type, payload as Record<string, unknown>, problems);
      envelope.payload = instanceToPlainObject(payload);
    }
  }
  if (typeof envelope.occurredAt === 'string' && !problems.some((p) => p.path === 'occurredAt')) {
    const at = Date.parse(envelope.occurredAt);
    if (Number.isNaN(at)) problems.push({ path: 'occurredAt', message: 'not a valid instant' });
    else if (at > options.nowMs + MAX_FUTURE_SKEW_MS) problems.push({ path: 'occurredAt', message: 'more than 5 minutes in the future' });
  }
  if (options.subject) {
    if (envelope.channel !== options.subject.channel) problems.push({ path: 'channel', message: `"${envelope.channel}" disagrees with the subject's channel "${options.subject.channel}"` });
    if (envelope.type !== options.subject.type) problems.push({ path: 'type', message: `"${envelope.type}" disagrees with the subject's type "${options.subject.type}"` });
  }
  if (problems.length) throw new ContractError('VALIDATION_FAILED', problems);
  return envelope;
}

function crossFieldChecks(type: string, payload: Record<string, unknown>, problems: ProblemDetail[]): void {
  if (type === 'purchase') {
    const items = payload['items'] as Array<{ quantity: number; unitPrice: number }>;
    const sum = items.reduce((s, i) => s + i.quantity * i.unitPrice, 0);
    const amount = payload['amount'] as number;
    if (Math.abs(sum - amount) > 1) problems.push({ path: 'payload.amount', message: `${amount} disagrees with the items' total ${sum} (allowed difference: 1 for rounding)` });
  }
  if (type === 'profile_update' && payload['attributes']) {
    const attributes = payload['attributes'] as Record<string, unknown>;
    const entries = Object.entries(attributes);
    if (entries.length > 50) problems.push({ path: 'payload.attributes', message: 'at most 50 attributes' });
    for (const [key, value] of entries) {
      if (typeof value !== 'string' || value.length > 256 || key.length > 64) problems.push({ path: `payload.attributes.${key}`, message: 'attribute keys ≤ 64 and values ≤ 256 characters, strings only' });
    }
  }
}

function instanceToPlainObject(value: object): Record<string, unknown> {
  return JSON.parse(JSON.stringify(value)) as Record<string, unknown>;
}

/** The AcceptedEvent that travels on EVENTS, once identity is resolved. */
export function toAcceptedEvent(envelope: EventEnvelopeDto, customerId: string, receivedAtMs: number): AcceptedEvent {
  return {
    id: envelope.id,
    type: envelope.type,
    channel: envelope.channel,
    occurredAt: envelope.occurredAt,
    occurredAtMs: Date.parse(envelope.occurredAt),
    receivedAtMs,
    customerId,
    ...(envelope.storeId ? { storeId: envelope.storeId } : {}),
    payload: envelope.payload,
  };
}

/** Validates one customer import line. Throws ContractError listing every problem. */
export function validateCustomerImport(raw: unknown): CustomerImportDto {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new ContractError('VALIDATION_FAILED', [{ path: '', message: 'a customer must be a JSON object' }]);
  const structural = guardStructure(raw);
  if (structural.length) throw new ContractError('VALIDATION_FAILED', structural);
  const dto = plainToInstance(CustomerImportDto, raw, { enableImplicitConversion: false });
  const problems = flatten(validateSync(dto, VALIDATOR_OPTIONS), '', []);
  for (const [key, value] of Object.entries(dto.attributes ?? {})) {
    if (typeof value !== 'string') problems.push({ path: `attributes.${key}`, message: 'attribute values are strings' });
  }
  if (problems.length) throw new ContractError('VALIDATION_FAILED', problems);
  return dto;
}
