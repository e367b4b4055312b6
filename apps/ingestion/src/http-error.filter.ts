import { Injectable } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ContractError } from '@nunchi/contracts/core';
import { HttpErrorFilter } from '@nunchi/telemetry/nest';
import { MAX_BODY_BYTES } from './http-limits.js';
import { IngestEventUseCase } from './ingest-event.usecase.js';

/**
 * The shared error shape (libs/telemetry HttpErrorFilter), plus what only ingestion does: a body over the
 * size limit is refused by Fastify before any handler runs; it still leaves a DLQ record (without the bytes,
 * which were never read), so no refused input disappears silently. A 400 raised outside a handler is a body
 * Fastify could not read: MALFORMED_JSON.
 */
@Injectable()
export class IngestionHttpErrorFilter extends HttpErrorFilter {
  constructor(private readonly ingest: IngestEventUseCase) {
    super({ 400: 'MALFORMED_JSON' });
  }

  protected override async answer(
    _exception: unknown,
    status: number,
    request: FastifyRequest,
    reply: FastifyReply,
  ): Promise<boolean> {
    if (status !== 413) return false;
    const length = request.headers['content-length'] ?? 'unknown';
    const error = new ContractError('TOO_LARGE', [
      {
        path: '',
        message: `body of ${length} bytes is above the limit of ${MAX_BODY_BYTES} bytes; not read, not kept`,
      },
    ]);
    await reply
      .status(413)
      .send(
        await this.ingest.refuse(
          { origin: `${request.method} ${request.url}`, bytes: new Uint8Array(0) },
          error,
        ),
      );
    return true;
  }
}
