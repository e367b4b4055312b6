import type { ErrorReply } from '@nunchi/contracts/core';
import { UsageError } from './options.js';
import type { Resources } from './resources.js';

/** How long the CLI waits for one answer of the HTTP API, ms. */
const REQUEST_TIMEOUT_MS = 15_000;

/** The HTTP API refused or failed a request, or could not be reached: said as the service said it. */
export class ApiRequestError extends Error {
  override readonly name = 'ApiRequestError';
  constructor(
    message: string,
    /** the HTTP status; undefined when nothing answered */
    readonly status?: number,
  ) {
    super(message);
  }
}

/**
 * The analytics service's HTTP API as the CLI calls it (docs/security.md, "API keys"): with NUNCHI_API_URL
 * set, `nunchi keys`, `nunchi audit`, `nunchi stats` and the campaign commands (commands/campaign-operations.ts)
 * go through it with NUNCHI_API_KEY as their bearer, without the database's credentials. The service checks the
 * key and its role and writes the audit log; the CLI only carries the request.
 */
export class ApiClient {
  private constructor(
    readonly baseUrl: string,
    private readonly apiKey: string,
  ) {}

  /** The client when NUNCHI_API_URL is set (it then needs NUNCHI_API_KEY); undefined: the CLI uses Cassandra. */
  static of(resources: Resources): ApiClient | undefined {
    const { cliApiUrl, cliApiKey } = resources.config.auth;
    if (cliApiUrl === undefined) return undefined;
    if (cliApiKey === undefined)
      throw new UsageError(
        `NUNCHI_API_URL is set (${cliApiUrl}), so this command goes over the HTTP API, which needs a caller: set NUNCHI_API_KEY to your API key (\`nunchi keys create\`, run once without NUNCHI_API_URL, prints one)`,
      );
    return new ApiClient(cliApiUrl, cliApiKey);
  }

  async request<T>(method: 'GET' | 'POST' | 'PUT' | 'DELETE', path: string, body?: unknown): Promise<T> {
    const url = `${this.baseUrl}${path}`;
    let response: Response;
    try {
      response = await fetch(url, {
        method,
        headers: {
          authorization: `Bearer ${this.apiKey}`,
          accept: 'application/json',
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      });
    } catch (error) {
      const e = error as Error & { cause?: Error };
      const why =
        e.name === 'TimeoutError'
          ? `no answer within ${REQUEST_TIMEOUT_MS / 1000} s`
          : (e.cause ?? e).message;
      throw new ApiRequestError(`cannot reach the HTTP API at ${url} (NUNCHI_API_URL): ${why}`);
    }
    const text = await response.text();
    if (response.ok)
      try {
        return JSON.parse(text, reviveInstant) as T;
      } catch {
        throw new ApiRequestError(
          `${method} ${url}: ${response.status}, but not JSON — is NUNCHI_API_URL the analytics service's address?`,
          response.status,
        );
      }
    throw new ApiRequestError(`${method} ${url}: ${describeRefusal(response.status, text)}`, response.status);
  }
}

const ISO_INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;

/**
 * Instants in an answer — `…At` fields, which JSON carries as ISO-8601 text — as the Dates the use cases behind
 * the API return (epoch-ms fields, `…AtMs`, stay numbers).
 */
function reviveInstant(key: string, value: unknown): unknown {
  return key.endsWith('At') && typeof value === 'string' && ISO_INSTANT.test(value) ? new Date(value) : value;
}

/** `403 FORBIDDEN: … needs one of admin` and each problem by field, from the service's error body. */
function describeRefusal(status: number, text: string): string {
  let reply: ErrorReply | undefined;
  try {
    reply = JSON.parse(text) as ErrorReply;
  } catch {
    // not one of Nunchi's error bodies (a proxy's page): its first line says enough
  }
  if (reply?.ok !== false || typeof reply.error !== 'object')
    return `${status} ${text.split('\n')[0]?.slice(0, 200) ?? ''}`.trim();
  const { code, message, details } = reply.error;
  return [
    `${status} ${code}${message ? `: ${message}` : ''}`,
    ...(details ?? []).map((d) => `  ${d.path || '(root)'}: ${d.message}`),
  ].join('\n');
}
