import { Controller, HttpCode, Post, Req, Res } from '@nestjs/common';
import { ApiBody, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { callerLabel, callerOf } from '@nunchi/auth';
import { ContractError, type IngestReply } from '@nunchi/contracts/core';
import { decodeJson, DecodeError } from '@nunchi/messaging';
import { context, extractTraceContext } from '@nunchi/telemetry';
import { Requires } from '@nunchi/telemetry/nest';
import { AdapterRateLimit } from './adapter-rate-limit.js';
import { MAX_BATCH } from './http-limits.js';
import { IngestEventUseCase } from './ingest-event.usecase.js';

const ORIGIN = 'POST /v1/events';

/**
 * The HTTP door: one event or a batch of up to 500, answered per item. The body arrives as bytes (main.ts:
 * bodyAsBytes), so a body that is not JSON is refused here, by our rules, and kept in the DLQ.
 */
@ApiTags('events')
@Controller('v1/events')
export class EventsController {
  constructor(
    private readonly ingest: IngestEventUseCase,
    private readonly limits: AdapterRateLimit,
  ) {}

  @Post()
  @Requires('events.send')
  @HttpCode(200)
  @ApiOperation({ summary: 'Send one event, or an array of up to 500; each gets its own answer.' })
  @ApiBody({
    description: 'An event envelope (docs/schemas/event.schema.json) or an array of 1 to 500 of them.',
  })
  @ApiResponse({
    status: 200,
    description: 'One event stored, or a batch: every item stored or rejected ({"results":[…]}).',
  })
  @ApiResponse({
    status: 400,
    description: 'MALFORMED_JSON (not UTF-8 JSON), or a batch of 0 or more than 500 items.',
  })
  @ApiResponse({ status: 413, description: 'TOO_LARGE: body above 1 MiB.' })
  @ApiResponse({
    status: 429,
    description:
      'RATE_LIMITED: the API key is over its rate, every ingestion replica together; nothing stored, retry after `retryAfterMs` (also Retry-After).',
  })
  @ApiResponse({
    status: 422,
    description: 'One event, rejected: VALIDATION_FAILED with every problem by path.',
  })
  @ApiResponse({
    status: 503,
    description:
      'UNAVAILABLE_RETRY: the event store did not store it (or some batch items); retry. OVERLOADED_RETRY: the customer’s partition is behind; nothing stored, retry after `retryAfterMs` (also the Retry-After header).',
  })
  async post(@Req() request: FastifyRequest, @Res() reply: FastifyReply) {
    const bytes = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
    const parent = extractTraceContext((key) => header(request, key));
    // The guard held the key to its rate on this replica; here to its rate on all of them (one shared bucket).
    const caller = callerOf(request);
    const limited = caller && (await this.limits.admitKey(caller, callerLabel(caller)));
    if (limited && !limited.ok) {
      void reply.header('retry-after', String(Math.ceil((limited.error.retryAfterMs ?? 1_000) / 1000)));
      return reply.status(429).send(await this.ingest.limited(limited));
    }
    // An adapter's key sends for its channels only (an event of another is refused, VALIDATION_FAILED on channel).
    const channels = caller?.channels;
    return context.with(parent, async () => {
      let body: unknown;
      try {
        body = decodeJson(bytes);
      } catch (error) {
        return reply
          .status(400)
          .send(await this.ingest.refuse({ bytes, origin: ORIGIN }, error as DecodeError));
      }
      if (!Array.isArray(body)) {
        const result = await this.ingest.execute({ bytes, body, origin: ORIGIN, channels });
        if (!result.ok && result.error.retryAfterMs !== undefined)
          void reply.header('retry-after', String(Math.ceil(result.error.retryAfterMs / 1000)));
        return reply.status(result.ok ? 200 : isRetry(result.error.code) ? 503 : 422).send(result);
      }
      if (body.length === 0 || body.length > MAX_BATCH) {
        const error = new ContractError('VALIDATION_FAILED', [
          { path: '', message: `a batch holds 1 to ${MAX_BATCH} events, not ${body.length}` },
        ]);
        return reply.status(400).send(await this.ingest.refuse({ bytes, origin: ORIGIN }, error));
      }
      // Items of a batch have no bytes of their own: a rejected item goes to the DLQ re-encoded.
      const results: IngestReply[] = await Promise.all(
        body.map((item) => this.ingest.execute({ body: item, origin: ORIGIN, channels })),
      );
      const unavailable = results.some((r) => !r.ok && isRetry(r.error.code));
      return reply.status(unavailable ? 503 : 200).send({ results });
    });
  }
}

/** Nothing was stored, for a reason on our side: the same request later can succeed (503). */
const isRetry = (code: string) => code === 'UNAVAILABLE_RETRY' || code === 'OVERLOADED_RETRY';

function header(request: FastifyRequest, key: string): string | undefined {
  const value = request.headers[key];
  return Array.isArray(value) ? value[0] : value;
}
