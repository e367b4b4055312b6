import { Controller, Get } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { CampaignStatsAggregator } from './campaign-stats.js';

@ApiTags('stats')
@Controller('v1')
export class StatsController {
  constructor(private readonly stats: CampaignStatsAggregator) {}

  @Get('stats')
  @ApiOperation({ summary: 'Events by type and channel; per campaign: decisions, offers, control, late, responses, conversion and lift vs control.' })
  get() {
    return this.stats.snapshot();
  }
}
