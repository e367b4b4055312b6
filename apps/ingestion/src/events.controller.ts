import { Body, Controller, HttpCode, Post, Req, Res } from '@nestjs/common';
import { ApiBody, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { IngestReply } from '@nunchi/contracts';
import { extractTraceContext, context } from '@nunchi/telemetry';
import { IngestEventUseCase } from './ingest-event.usecase.js';

export const MAX_BATCH = 500;

/** The HTTP door: one event or a batch of up to 500, answered per item. */
@ApiTags('events')
@Controller('v1/events')
export class EventsController {
  constructor(private readonly ingest: IngestEventUseCase) {}

  @Post()
  @HttpCode(200)
  @ApiOperation({ summary: 'Send one event, or an array of up to 500; each gets its own answer.' })
  @ApiBody({ description: 'An event envelope (see docs/schemas/event.schema.json) or an array of them.' })
  @ApiResponse({ status: 200, description: 'Every item stored or rejected; see each item.' })
  @ApiResponse({ status: 400, description: 'Malformed JSON, or a batch over 500 items.' })
  @ApiResponse({ status: 413, description: 'Body above the size limit.' })
  @ApiResponse({ status: 503, description: 'The event store is unavailable: nothing was stored; retry.' })
  async post(@Body() body: unknown, @Req() request: FastifyRequest, @Res() reply: FastifyReply) {
    const parent = extractTraceContext((key) => header(request, key));
    const batch = Array.isArray(body);
    const items = batch ? (body as unknown[]) : [body];
    if (items.length > MAX_BATCH || items.length === 0) {
      return reply.status(400).send({ ok: false, error: { code: 'VALIDATION_FAILED', details: [{ path: '', message: `a batch holds 1 to ${MAX_BATCH} events` }] } });
    }
    const rawBytes = (request as FastifyRequest & { rawBody?: Buffer }).rawBody;
    const results: IngestReply[] = await context.with(parent, () =>
      Promise.all(
        items.map((item) =>
          this.ingest.execute({ bytes: batch || !rawBytes ? new Uint8Array(0) : rawBytes, body: item, origin: 'POST /v1/events' }),
        ),
      ),
    );
    const unavailable = results.some((r) => !r.ok && r.error.code === 'UNAVAILABLE_RETRY');
    const status = unavailable ? 503 : !batch && !results[0].ok ? 422 : 200;
    return reply.status(status).send(batch ? { results } : results[0]);
  }
}

function header(request: FastifyRequest, key: string): string | undefined {
  const value = request.headers[key];
  return Array.isArray(value) ? value[0] : value;
}
