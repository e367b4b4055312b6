import 'reflect-metadata';
import { ValidateBy, type ValidationOptions } from 'class-validator';

const DESCRIPTION = 'nunchi:description';

/**
 * A sentence for the published JSON Schema (docs/schemas): units, meaning, rules the schema cannot say.
 * Metadata only: validation ignores it. It lives here, next to the field, so the two cannot drift.
 */
export function Describe(text: string) {
  return (target: object, property?: string | symbol): void => {
    if (property === undefined) Reflect.defineMetadata(DESCRIPTION, text, target);
    else Reflect.defineMetadata(DESCRIPTION, text, target.constructor, property);
  };
}

/** The description of a DTO class (no property) or of one of its properties. */
export function descriptionOf(dto: object, property?: string): string | undefined {
  return (
    property === undefined
      ? Reflect.getMetadata(DESCRIPTION, dto)
      : Reflect.getMetadata(DESCRIPTION, dto, property)
  ) as string | undefined;
}

/** Bounds of a string → string map (attributes). */
export interface StringMapBounds {
  maxEntries: number;
  /** characters */
  maxKeyLength: number;
  /** characters */
  maxValueLength: number;
}

export const IS_STRING_MAP = 'isStringMap';

export function isStringMap(value: unknown, bounds: StringMapBounds): boolean {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
  let n = 0;
  for (const key in value) {
    if (!Object.prototype.hasOwnProperty.call(value, key)) continue;
    const v = (value as Record<string, unknown>)[key];
    if (++n > bounds.maxEntries || key.length > bounds.maxKeyLength) return false;
    if (typeof v !== 'string' || v.length > bounds.maxValueLength) return false;
  }
  return true;
}

/** An object of string values with bounded size (free-form attributes). */
export function IsStringMap(bounds: StringMapBounds, options?: ValidationOptions): PropertyDecorator {
  return ValidateBy(
    {
      name: IS_STRING_MAP,
      constraints: [bounds],
      validator: {
        validate: (value: unknown) => isStringMap(value, bounds),
        defaultMessage: (args) =>
          `${args?.property} must be an object of at most ${bounds.maxEntries} string values (keys ≤ ${bounds.maxKeyLength}, values ≤ ${bounds.maxValueLength} characters)`,
      },
    },
    options,
  );
}

/** A channel → consent map: keys are channel tokens, values booleans (channelConsent). */
export const IS_CONSENT_MAP = 'isConsentMap';
export const CONSENT_MAP_MAX_ENTRIES = 20;
const CHANNEL_KEY = /^[A-Za-z0-9_-]{1,64}$/;

export function isConsentMap(value: unknown): boolean {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
  let n = 0;
  for (const key in value) {
    if (!Object.prototype.hasOwnProperty.call(value, key)) continue;
    if (++n > CONSENT_MAP_MAX_ENTRIES || !CHANNEL_KEY.test(key)) return false;
    if (typeof (value as Record<string, unknown>)[key] !== 'boolean') return false;
  }
  return true;
}

export function IsConsentMap(options?: ValidationOptions): PropertyDecorator {
  return ValidateBy(
    {
      name: IS_CONSENT_MAP,
      validator: {
        validate: (value: unknown) => isConsentMap(value),
        defaultMessage: (args) =>
          `${args?.property} must be an object of at most ${CONSENT_MAP_MAX_ENTRIES} channels ([A-Za-z0-9_-]{1,64}) to true or false`,
      },
    },
    options,
  );
}
