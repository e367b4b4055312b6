import { ValidateBy, type ValidationOptions } from 'class-validator';

/**
 * Names people write — categories, SKUs, product and store names — are Unicode text: Korean, spaces,
 * punctuation ("Beer & Cider", "분유", "Frozen foods"). What becomes part of a NATS subject (channel,
 * event type, store id) stays a token (subjects.ts); these never do.
 *
 * Ingestion normalises every string of an event to NFC before validating it (normalizeStrings), so a name
 * typed on a Mac (decomposed Hangul jamo) and the same name from a till (composed syllables) are one
 * string, in the rollups, in CEL and in campaign files (parseCampaign normalises those too).
 */

/** Bounds of a text field, in characters (Unicode code points, as JSON Schema counts them). */
export interface TextBounds {
  minLength: number;
  maxLength: number;
}

export const IS_TEXT = 'isText';

/** Control characters (C0, DEL, C1), lone surrogates, line and paragraph separators: nothing a name shows. */
const NOT_PRINTABLE = /[\p{Cc}\p{Cs}\u2028\u2029]/u;
/** The same for JSON Schema readers without \p: UTF-16 ranges, lone surrogates aside (JSON text cannot carry them well-formed). */
export const TEXT_PATTERN = '^[^\\u0000-\\u001F\\u007F-\\u009F\\u2028\\u2029]*$';

/** Code points, counted only when UTF-16 length could exceed the bound (it never undercounts). */
function codePoints(s: string, bound: number): number {
  if (s.length <= bound) return s.length;
  let n = 0;
  for (let i = 0; i < s.length; i++, n++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) i++;
    }
  }
  return n;
}

/** Why a value is not text within the bounds, or undefined when it is. */
export function textProblem(value: unknown, bounds: TextBounds): string | undefined {
  if (typeof value !== 'string') return 'must be a string';
  if (NOT_PRINTABLE.test(value))
    return 'must be printable text (no control characters, line breaks or lone surrogates)';
  if (value.trim() === '') return 'must not be empty or only white space';
  const n = value.length < bounds.minLength ? value.length : codePoints(value, bounds.maxLength);
  if (n < bounds.minLength || n > bounds.maxLength)
    return `must be ${bounds.minLength}-${bounds.maxLength} characters (got ${n})`;
  return undefined;
}

/** Printable Unicode text of bounded length (category, sku, product and store names). */
export function IsText(bounds: TextBounds, options?: ValidationOptions): PropertyDecorator {
  return ValidateBy(
    {
      name: IS_TEXT,
      constraints: [bounds],
      validator: {
        validate: (value: unknown) => textProblem(value, bounds) === undefined,
        defaultMessage: (args) => `${args?.property} ${textProblem(args?.value, bounds) ?? 'is invalid'}`,
      },
    },
    options,
  );
}

const LONE_SURROGATE = /\p{Cs}/u;

/**
 * True when every UTF-16 unit is below U+0300 (Latin, before any combining mark) or a precomposed Hangul
 * syllable: such a string is NFC and well-formed as it is (a syllable composes only with a following
 * trailing jamo, U+11A8.., which is outside this set). A loop, not a regular expression: it runs on every
 * string of every event, and almost all of them pass.
 */
function surelyNfc(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x300 && (c < 0xac00 || c > 0xd7a3)) return false;
  }
  return true;
}

/** False for a string that is not well-formed UTF-16: JSON "\ud800" decodes to a lone surrogate. */
export function isWellFormedText(s: string): boolean {
  return surelyNfc(s) || !LONE_SURROGATE.test(s);
}

/**
 * Every string (values and keys) of a decoded body in Unicode NFC. Returns the body itself when nothing
 * changes (most strings need one pass over their characters), else a normalised copy: the
 * caller's object is never modified. Lone surrogates are left as they are (String.prototype.normalize
 * would silently turn them into U+FFFD), for the validators to refuse.
 */
export function normalizeStrings<T>(value: T): T {
  return normalizeValue(value) as T;
}

function normalizeString(s: string): string {
  if (surelyNfc(s) || LONE_SURROGATE.test(s)) return s;
  return s.normalize('NFC');
}

function normalizeValue(value: unknown): unknown {
  if (typeof value === 'string') return normalizeString(value);
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) {
    let out: unknown[] | undefined;
    for (let i = 0; i < value.length; i++) {
      const v = value[i] as unknown;
      const n = normalizeValue(v);
      if (n !== v) (out ??= value.slice())[i] = n;
    }
    return out ?? value;
  }
  const record = value as Record<string, unknown>;
  let out: Record<string, unknown> | undefined;
  for (const key of Object.keys(record)) {
    const v = record[key];
    const n = normalizeValue(v);
    const k = normalizeString(key);
    if (n === v && k === key) continue;
    out ??= { ...record };
    if (k !== key) delete out[key];
    out[k] = n;
  }
  return out ?? value;
}
