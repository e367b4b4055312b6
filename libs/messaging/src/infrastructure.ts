/**
 * Which failures are the infrastructure's (a dependency unreachable, overloaded or timing out) rather than the
 * message's or the code's. They heal by themselves: a consumer waits them out without using up deliveries,
 * and never dead-letters a message for one. Anything else (a validation or logic error) is the message's own
 * and takes the normal retry → DLQ path.
 *
 * Recognised by name and code, not by class: libs/messaging does not depend on the Cassandra driver, and an
 * error that crossed a Promise.all or a Nest pipeline is still recognised.
 */
/** 'network': a socket error outside either client (the peer is not known). */
export type Dependency = 'cassandra' | 'nats' | 'network';

/** Cassandra driver errors that mean "no answer now", whatever the statement. */
const CASSANDRA_ERRORS = new Set(['NoHostAvailableError', 'OperationTimedOutError', 'BusyConnectionError']);

/**
 * Cassandra server responses (ResponseError.code) about the cluster's state, not the statement:
 * serverError 0x0000, unavailable 0x1000, overloaded 0x1001, isBootstrapping 0x1002, truncateError 0x1003,
 * writeTimeout 0x1100, readTimeout 0x1200, readFailure 0x1300, writeFailure 0x1500.
 */
const CASSANDRA_RESPONSE_CODES = new Set([
  0x0000, 0x1000, 0x1001, 0x1002, 0x1003, 0x1100, 0x1200, 0x1300, 0x1500,
]);

/** NATS client errors of a connection that is down, closing or not answering. */
const NATS_ERRORS = new Set([
  'ConnectionError',
  'ClosedConnectionError',
  'DrainingConnectionError',
  'TimeoutError',
  'NoRespondersError',
  'RequestError',
  'PubAckTimeoutError',
  'JetStreamNotEnabled',
]);

/** Socket errors on any connection. */
const SOCKET_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
]);

/**
 * JetStream answers that a retry later will get past: the system is temporarily unavailable (503, 10008), or a
 * stream that discards new messages is full until its consumer catches up.
 */
const JETSTREAM_TRANSIENT =
  /temporarily unavailable|maximum (bytes|messages) exceeded|no responders|connection (closed|draining)|did not acknowledge|timeout/i;

/** The dependency an error says is unavailable, or undefined when the error is not an infrastructure error. */
export function unavailableDependency(error: unknown): Dependency | undefined {
  for (let e: unknown = error, depth = 0; e && depth < 5; depth++) {
    if (!(e instanceof Error)) return undefined;
    const name = e.name || e.constructor?.name;
    const code = (e as { code?: unknown }).code;
    if (CASSANDRA_ERRORS.has(name)) return 'cassandra';
    if (name === 'ResponseError' && typeof code === 'number' && CASSANDRA_RESPONSE_CODES.has(code))
      return 'cassandra';
    if (NATS_ERRORS.has(name)) return 'nats';
    if (name === 'JetStreamApiError' || name === 'JetStreamError' || name === 'JetStreamStatusError')
      return code === 503 || JETSTREAM_TRANSIENT.test(e.message) ? 'nats' : undefined;
    // PubAckInbox's settle-time failures are plain Errors with these messages.
    if (
      /^(no stream answered for this subject|connection closed before the stream answered|publisher closed before the stream answered)/.test(
        e.message,
      )
    )
      return 'nats';
    if (typeof code === 'string' && SOCKET_CODES.has(code)) return 'network';
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

export function isInfrastructureError(error: unknown): boolean {
  return unavailableDependency(error) !== undefined;
}
