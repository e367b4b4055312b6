import { InvalidArgumentError } from 'commander';

/**
 * Option parsers shared by every command. A bad value is a usage error: commander prints it with the
 * command's help hint and the process exits with code 2 (see EXIT_CODES), before anything connects.
 */

/** Exit codes of every command, as `nunchi --help` lists them. */
export const EXIT_CODES = {
  ok: 0,
  /** the command failed: bad file, unknown id, unreachable NATS/Cassandra, an error of the service */
  failure: 1,
  /** usage error: unknown command or option, missing or malformed argument (nothing was done) */
  usage: 2,
  /** done, but some input was rejected (lines of an import or events file, DLQ entries on replay) */
  rejected: 3,
  /** not finished: run again (campaigns merge: the shards need another round with the checks written) */
  again: 4,
} as const;

export const EXIT_CODES_HELP = `
Exit codes:
  0  ok
  1  failure (bad file, unknown id, unreachable NATS or Cassandra, ...)
  2  usage error (unknown command or option, missing or malformed value; nothing was done)
  3  done, but some input was rejected (customers import, events send, dlq replay)
  4  not finished: run again (campaigns merge: another round of the shards, with --budget-checks)`;

/**
 * A whole number within [min, max], for commander's option parser: `--limit abc`, `--limit 1.5` and
 * `--limit 0` are refused instead of becoming NaN (which, as a NATS subscription's max, never stops).
 */
export function integerOption(min = 1, max = Number.MAX_SAFE_INTEGER): (value: string) => number {
  return (value: string) => parseInteger(value, min, max);
}

export function parseInteger(value: string, min = 1, max = Number.MAX_SAFE_INTEGER): number {
  const text = value.trim();
  const n = /^[+-]?\d+$/.test(text) ? Number(text) : Number.NaN;
  if (!Number.isSafeInteger(n)) throw new InvalidArgumentError(`"${value}" is not a whole number.`);
  if (n < min || n > max)
    throw new InvalidArgumentError(
      max === Number.MAX_SAFE_INTEGER
        ? `must be at least ${min}, got ${n}.`
        : `must be ${min}-${max}, got ${n}.`,
    );
  return n;
}

/** A usage error found once the command runs (a value only checkable with the configuration): exit code 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}
