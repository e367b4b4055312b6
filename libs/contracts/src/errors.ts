/** One problem with an input, addressed by path (e.g. "payload.items[0].quantity"). */
export interface ProblemDetail {
  path: string;
  message: string;
}

export type ErrorCode =
  | 'VALIDATION_FAILED'
  | 'MALFORMED_JSON'
  | 'SUBJECT_MISMATCH'
  | 'TOO_LARGE'
  | 'CUSTOMER_ERASED'
  | 'UNKNOWN_CUSTOMER'
  /** an offer_response that answers no offer made to this customer */
  | 'UNKNOWN_DECISION'
  /** two identifiers that would link two customers who must stay apart (docs/identity.md) */
  | 'CUSTOMERS_CONFLICT'
  | 'UNAVAILABLE_RETRY'
  | 'OVERLOADED_RETRY'
  | 'NOT_FOUND'
  | 'CUSTOMER_NOT_FOUND'
  /** the request is valid but not now: the resource's state forbids it, or it changed since it was read */
  | 'CONFLICT'
  /** no credentials, or credentials that do not hold (unknown, revoked or expired key; bad or expired token): 401 */
  | 'UNAUTHENTICATED'
  /** the caller is known, and none of its roles may do this: 403 */
  | 'FORBIDDEN'
  /** the caller's key (or token) is over its rate: 429 with Retry-After */
  | 'RATE_LIMITED'
  | 'INTERNAL';

/** A contract violation: the input is wrong and sending it again unchanged will not help. */
export class ContractError extends Error {
  override readonly name = 'ContractError';
  constructor(
    readonly code: ErrorCode,
    readonly details: ProblemDetail[],
    options?: { cause?: unknown },
  ) {
    super(
      `${code}: ${details.map((d) => (d.path ? `${d.path}: ${d.message}` : d.message)).join('; ')}`,
      options,
    );
  }
}

/** The error body of every HTTP API (and of a refused NATS request): `{"ok":false,"error":{...}}`. */
export interface ErrorReply {
  ok: false;
  error: { code: ErrorCode; message?: string; details: ProblemDetail[] };
}

/** Reply body of the inbound request/reply door and of each HTTP batch item. */
export type IngestReply =
  | { ok: true; id: string; customerId: string; duplicate?: boolean }
  | {
      ok: false;
      id?: string;
      error: {
        code: ErrorCode;
        message?: string;
        details: ProblemDetail[];
        /** OVERLOADED_RETRY: milliseconds after which sending it again is worth trying */
        retryAfterMs?: number;
      };
    };
