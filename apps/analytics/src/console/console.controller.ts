import { Controller, Get, Inject, Param, Query, Req, Sse, type MessageEvent } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { callerOf } from '@nunchi/auth';
import { ApiOperation, ApiQuery, ApiTags } from '@nestjs/swagger';
import { map, type Observable } from 'rxjs';
import { CQL_CLIENT } from '@nunchi/cassandra/nest';
import {
  CustomerKeyRepository,
  decisionInputsOpener,
  DecisionRepository,
  type CqlClient,
} from '@nunchi/cassandra';
import { CONFIG } from '@nunchi/config/nest';
import { identityKeys, type NunchiConfig } from '@nunchi/config';
import { decisionIdOf, isSubjectToken, type DecisionRecord } from '@nunchi/contracts/core';
import type { RecentEvent } from '@nunchi/contracts';
import { explainRecord } from '@nunchi/rules';
import { ApiError, Requires } from '@nunchi/telemetry/nest';
import { DlqReader, MAX_SCAN } from './dlq-reader.js';
import { LiveFeed, SAMPLE_EVERY_MS } from './live-feed.js';
import { ServiceReaders } from './service-readers.js';

/** decisions listed on a customer's page */
const CUSTOMER_DECISIONS = 20;
/** how far back a customer's page looks for decisions, milliseconds */
const CUSTOMER_DECISIONS_SINCE_MS = 30 * 86_400_000;

/**
 * What the web console reads besides the stats and campaigns APIs: its live figures (server-sent events),
 * the DLQ, and a customer's page. Read-only, and never on the event path.
 */
@ApiTags('console')
@Controller('v1/console')
export class ConsoleController {
  /** decisions' inputs are sealed under customers' data keys: opened with the identity key, if this service has it */
  private readonly openInputs: (record: DecisionRecord) => Promise<DecisionRecord>;

  constructor(
    private readonly feed: LiveFeed,
    private readonly dlq: DlqReader,
    private readonly services: ServiceReaders,
    @Inject(CQL_CLIENT) private readonly cql: CqlClient,
    @Inject(CONFIG) config: NunchiConfig,
  ) {
    this.openInputs = decisionInputsOpener(new CustomerKeyRepository(cql), identityKeys(config));
  }

  @Get('config')
  @Requires('session.read')
  @ApiOperation({ summary: "The console's settings: the trace link template, how often live figures come." })
  config() {
    return {
      traceUrl: this.services.traceUrl('{traceId}')?.replace(encodeURIComponent('{traceId}'), '{traceId}'),
      sampleEveryMs: SAMPLE_EVERY_MS,
    };
  }

  @Sse('live')
  @Requires('results.read')
  @ApiOperation({
    summary:
      'Server-sent events, one a second: events/s by channel, event → offer p50/p99 over the last minute, decisions, late, DLQ entries by stage; the first event carries the last 10 minutes of the series, later ones its newest point.',
  })
  live(): Observable<MessageEvent> {
    let first = true;
    return this.feed.figures$.pipe(
      map((figures) => {
        const data = first ? figures : { ...figures, series: figures.series.slice(-1) };
        first = false;
        return { data };
      }),
    );
  }

  @Get('dlq')
  @Requires('operations.read')
  @ApiOperation({
    summary: `Rejected input with its reason, newest first (among the last ${MAX_SCAN} entries of the DLQ), and counts by stage.`,
  })
  @ApiQuery({ name: 'stage', required: false, enum: ['ingestion', 'context', 'decision', 'analytics'] })
  @ApiQuery({ name: 'limit', required: false, type: Number })
  async dlqEntries(@Query('stage') stage?: string, @Query('limit') limit?: string) {
    if (stage !== undefined && stage !== '' && !DlqReader.isStage(stage))
      throw new ApiError(400, 'VALIDATION_FAILED', `unknown stage ${stage}`, [
        { path: 'stage', message: 'one of ingestion, context, decision, analytics' },
      ]);
    const n = limit === undefined || limit === '' ? 50 : Number(limit);
    if (!Number.isInteger(n) || n < 1 || n > 500)
      throw new ApiError(400, 'VALIDATION_FAILED', 'limit must be 1 to 500', [
        { path: 'limit', message: 'must be an integer from 1 to 500' },
      ]);
    const [counts, newest] = await Promise.all([
      this.dlq.counts(),
      this.dlq.newest({ stage: stage || undefined, limit: n }),
    ]);
    return { counts, ...newest };
  }

  @Get('customers/:id')
  @Requires('customers.read')
  @ApiOperation({
    summary:
      "A customer's page: the context service's answer for them (profile and context snapshot), and their recent decisions with the explanation (why, and why not) and a link to each one's trace.",
  })
  async customer(@Param('id') id: string, @Req() request: FastifyRequest) {
    if (!isSubjectToken(id))
      throw new ApiError(400, 'VALIDATION_FAILED', 'customer id must be 1-64 of [A-Za-z0-9_-]', [
        { path: 'id', message: 'must be 1-64 of [A-Za-z0-9_-]' },
      ]);
    const context = await this.services
      .customerContext(id, callerOf(request)?.credential)
      .catch((error: Error) => ({
        status: 503,
        body: {
          ok: false,
          error: {
            code: 'UNAVAILABLE',
            message: `the context service did not answer: ${error.message}`,
            details: [],
          },
        },
      }));
    const repo = new DecisionRepository(this.cql);
    // Decisions with a campaign from the per-customer listing; those of the recent events too (outcome
    // none: why no campaign made an offer), found by the id every event's decision has.
    const listed = await repo.ofCustomer(id, Date.now() - CUSTOMER_DECISIONS_SINCE_MS, CUSTOMER_DECISIONS);
    const recent = ((context.body as { ctx?: { recent?: RecentEvent[] } } | null)?.ctx?.recent ?? []).map(
      (e) => decisionIdOf(e),
    );
    const ids = [...new Set([...listed.map((d) => d.decisionId), ...recent])];
    const records = await Promise.all(
      (await Promise.all(ids.map((d) => repo.findById(d))))
        .filter((r): r is DecisionRecord => r !== undefined && r.customerId === id)
        .map((r) => this.openInputs(r)),
    );
    records.sort((a, b) => b.decidedAt.localeCompare(a.decidedAt));
    return {
      customerId: id,
      context,
      decisions: records.slice(0, CUSTOMER_DECISIONS).map((record) => ({
        ...record,
        explanation: explainRecord(record),
        traceUrl: this.services.traceUrl(record.traceId),
      })),
    };
  }
}
