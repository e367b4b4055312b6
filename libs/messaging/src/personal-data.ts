import type { IdentityKey } from '@nunchi/config';
import { IDENTITY_TYPES } from '@nunchi/contracts/core';
import { deriveSealingKey, openBytes, sealBytes } from '@nunchi/sealing';
import { decodeJson } from './codec.js';

/**
 * Personal data in rejected input, sealed before it is kept in the DLQ.
 *
 * The DLQ keeps what was refused for 30 days so that an operator can see why and replay it after a fix. The
 * bytes of an event name its customer by loyalty card, phone, e-mail or device id: kept as sent, they would be
 * readable by anyone who can read the stream. So every such value — a customer identifier field anywhere in
 * the body, and any string that looks like an e-mail address — is replaced by a token
 * `sealed:v1:<key id>:<base64url>`, the value encrypted with AES-256-GCM under a key derived from the identity
 * key (HKDF). What is needed to diagnose stays readable: the reason, the event id, the field paths
 * (`Nunchi-Dlq-Sealed: customer.phone`). `nunchi dlq replay`, which holds the key, unseals an entry before it
 * sends it again; a DLQ reader without the key sees no personal data. A body that is not JSON cannot be
 * sealed field by field and cannot be replayed anyway: its identifier fields and e-mail addresses are masked.
 */

const VERSION = 'v1';
const PREFIX = `sealed:${VERSION}:`;
const IDENTIFIER_FIELDS: ReadonlySet<string> = new Set(IDENTITY_TYPES);
/** an address anywhere in a string: local@domain.tld */
// Linear time on hostile input: a match may only start where a token starts (the lookbehind), so a long run
// without '@' is scanned once, not once per position (which was quadratic: a 1 MB string took minutes).
const EMAIL = /(?<![^\s"'<>@,;:])[^\s"'<>@,;:]+@[^\s"'<>@,;:]+\.[A-Za-z]{2,}/g;
/** an identifier field in text that is not JSON: "phone": "…" */
const IDENTIFIER_IN_TEXT = new RegExp(`"(${IDENTITY_TYPES.join('|')})"\\s*:\\s*"(?:[^"\\\\]|\\\\.)*"?`, 'g');

export interface SealedBody {
  /** the body to keep: the original bytes when nothing was sealed */
  data: Uint8Array;
  /** paths of the sealed values ("customer.phone", "[2].customer.email"); "(not JSON: masked)" for a masked body */
  paths: string[];
}

export class UnsealError extends Error {
  override readonly name = 'UnsealError';
}

/** Seal the personal data of a rejected body with `key`. */
export function sealPersonalData(data: Uint8Array, key: IdentityKey): SealedBody {
  let body: unknown;
  try {
    body = decodeJson(data);
  } catch {
    return maskText(data);
  }
  const paths: string[] = [];
  const aes = deriveKey(key);
  const seal = (value: string, path: string): string => {
    paths.push(path);
    return `${PREFIX}${key.id}:${sealBytes(aes, value).toString('base64url')}`;
  };
  const walk = (value: unknown, path: string, field: string | undefined): unknown => {
    if (typeof value === 'string') {
      if (value.startsWith(PREFIX)) return value; // already sealed (a replay rejected again)
      if (field !== undefined && IDENTIFIER_FIELDS.has(field)) return seal(value, path);
      EMAIL.lastIndex = 0;
      return EMAIL.test(value) ? seal(value, path) : value;
    }
    if (Array.isArray(value)) return value.map((v, i) => walk(v, `${path}[${i}]`, undefined));
    if (value !== null && typeof value === 'object') {
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(value)) out[k] = walk(v, path ? `${path}.${k}` : k, k);
      return out;
    }
    return value;
  };
  const sealed = walk(body, '', undefined);
  if (paths.length === 0) return { data, paths };
  return { data: Buffer.from(JSON.stringify(sealed), 'utf8'), paths };
}

/** The body as it was sent, every sealed value opened with the key its token names; throws UnsealError. */
export function unsealPersonalData(data: Uint8Array, keys: readonly IdentityKey[]): Uint8Array {
  const body = decodeJson(data);
  const derived = new Map<string, Buffer>();
  const open = (token: string): string => {
    const rest = token.slice(PREFIX.length);
    const at = rest.indexOf(':');
    const keyId = rest.slice(0, at);
    const key = keys.find((k) => k.id === keyId);
    if (at < 0 || !key)
      throw new UnsealError(
        `sealed with identity key "${keyId}", which this process does not have (NUNCHI_IDENTITY_SECRET with NUNCHI_IDENTITY_KEY_ID, or NUNCHI_IDENTITY_PREVIOUS_KEYS)`,
      );
    let aes = derived.get(keyId);
    if (!aes) derived.set(keyId, (aes = deriveKey(key)));
    const raw = Buffer.from(rest.slice(at + 1), 'base64url');
    try {
      return openBytes(aes, raw).toString('utf8');
    } catch (error) {
      throw new UnsealError(
        `a value sealed with identity key "${keyId}" does not open with that key: was the key changed without a new id?`,
        {
          cause: error,
        },
      );
    }
  };
  const walk = (value: unknown): unknown => {
    if (typeof value === 'string') return value.startsWith(PREFIX) ? open(value) : value;
    if (Array.isArray(value)) return value.map(walk);
    if (value !== null && typeof value === 'object')
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, walk(v)]));
    return value;
  };
  return Buffer.from(JSON.stringify(walk(body)), 'utf8');
}

/** Whether any value of the body is sealed (the header says so too; this is for bodies read without it). */
export function hasSealedValues(data: Uint8Array): boolean {
  return Buffer.from(data).includes(PREFIX);
}

function maskText(data: Uint8Array): SealedBody {
  const text = Buffer.from(data).toString('utf8');
  const masked = text.replace(IDENTIFIER_IN_TEXT, '"$1":"[masked]"').replace(EMAIL, '[e-mail]');
  if (masked === text) return { data, paths: [] };
  return { data: Buffer.from(masked, 'utf8'), paths: ['(not JSON: masked)'] };
}

/** A key of its own for sealing, so the HMAC key of identities is never used directly as a cipher key. */
function deriveKey(key: IdentityKey): Buffer {
  return deriveSealingKey(key, `nunchi-dlq:${key.id}`, 'personal-data');
}
