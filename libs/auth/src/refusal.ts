import { ApiError } from '@nunchi/telemetry/nest';

/** Why a request was refused, as counted in `nunchi_http_auth_refusals_total{reason}`. */
export type RefusalReason =
  | 'no_credentials'
  | 'malformed_credentials'
  | 'unknown_key'
  | 'revoked_key'
  | 'expired_key'
  | 'bad_token'
  | 'expired_token'
  | 'tokens_not_configured'
  | 'forbidden'
  | 'undeclared_route'
  | 'cookie_without_header'
  | 'rate_limited';

/** A refusal at the door, in the contract's error shape: 401, 403 or 429. Nothing behind the door ran. */
export class AuthRefusal extends ApiError {
  constructor(
    readonly httpStatus: 401 | 403 | 429,
    readonly reason: RefusalReason,
    message: string,
  ) {
    super(
      httpStatus,
      httpStatus === 401 ? 'UNAUTHENTICATED' : httpStatus === 403 ? 'FORBIDDEN' : 'RATE_LIMITED',
      message,
      [{ path: httpStatus === 401 ? 'authorization' : '', message: reason.replace(/_/g, ' ') }],
    );
  }
}

export const unauthenticated = (reason: RefusalReason, message: string) =>
  new AuthRefusal(401, reason, message);
