import { Controller, Get, Param } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { isSubjectToken } from '@nunchi/contracts/core';
import { ApiError, Requires } from '@nunchi/telemetry/nest';
import { CampaignResults } from '@nunchi/operations';
import { EventCounts } from './state/event-counts.js';

/** The campaign figures of docs/analytics.md, from analytics state in Cassandra (CampaignResults). */
@ApiTags('stats')
@Controller('v1/stats')
export class StatsController {
  constructor(
    private readonly results: CampaignResults,
    private readonly events: EventCounts,
  ) {}

  @Get()
  @Requires('results.read')
  @ApiOperation({
    summary:
      'Every campaign: decisions, offers, control, late, responses, conversions and revenue; treatment vs holdout with lift and its always-valid interval, per offer; sample-ratio check and warnings. `events`: events this analytics process handled since it started (a rate source).',
  })
  async all() {
    return { events: this.events.snapshot(), campaigns: await this.results.summaries() };
  }

  @Get('campaigns/:id')
  @Requires('results.read')
  @ApiOperation({
    summary:
      "One campaign's figures as in GET /v1/stats, plus per day (and per offer within a day) and per hour for the last two days.",
  })
  async campaign(@Param('id') id: string) {
    if (!isSubjectToken(id))
      throw new ApiError(400, 'VALIDATION_FAILED', 'campaign id must be 1-64 of [A-Za-z0-9_-]', [
        { path: 'id', message: 'not a campaign id' },
      ]);
    const report = await this.results.report(id);
    if (!report)
      throw new ApiError(404, 'NOT_FOUND', `no campaign ${id}`, [
        { path: 'id', message: `no campaign ${id}` },
      ]);
    return report;
  }
}
