import { Controller, Get, NotFoundException, Param } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { CampaignRepository, DecisionRepository } from '@nunchi/cassandra';
import { explainRecord } from '@nunchi/rules';
import { CampaignSetHolder } from './campaign-set.holder.js';

@ApiTags('decisions')
@Controller('v1')
export class DecisionsController {
  constructor(
    private readonly decisions: DecisionRepository,
    private readonly campaigns: CampaignRepository,
    private readonly holder: CampaignSetHolder,
  ) {}

  @Get('decisions/:id')
  @ApiOperation({
    summary:
      'A decision with its explanation: versions, inputs, the chosen offer and why every other candidate lost.',
  })
  async decision(@Param('id') id: string) {
    const record = await this.decisions.findById(id);
    if (!record) throw new NotFoundException(`no decision ${id}`);
    return { ...record, explanation: explainRecord(record) };
  }

  @Get('campaigns')
  @ApiOperation({ summary: 'Current version and state of every campaign, and what this replica has loaded.' })
  async list() {
    const stored = await this.campaigns.current();
    return {
      campaigns: stored.map((s) => ({
        id: s.campaignId,
        version: s.version,
        state: s.state,
        appliedAt: s.appliedAt,
      })),
      loaded: this.holder.current.versions,
    };
  }
}
