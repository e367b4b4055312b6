import { Controller, Get, Param, Query } from '@nestjs/common';
import { ApiOperation, ApiQuery, ApiTags } from '@nestjs/swagger';
import { CampaignRepository, CustomerKeyring, DecisionRepository } from '@nunchi/cassandra';
import { decisionIdOf, isSubjectToken } from '@nunchi/contracts/core';
import { explainRecord } from '@nunchi/rules';
import { ApiError, Requires } from '@nunchi/telemetry/nest';
import { CampaignSetHolder } from '@nunchi/cassandra/nest';

@ApiTags('decisions')
@Controller('v1')
export class DecisionsController {
  constructor(
    private readonly decisions: DecisionRepository,
    private readonly campaigns: CampaignRepository,
    private readonly holder: CampaignSetHolder,
    private readonly keys: CustomerKeyring,
  ) {}

  @Get('decisions/:id')
  @Requires('results.read')
  @ApiOperation({
    summary:
      'A decision with its explanation: versions, inputs, the chosen offer and why every other candidate lost.',
  })
  async decision(@Param('id') id: string) {
    const stored = await this.decisions.findById(id);
    if (!stored)
      throw new ApiError(404, 'NOT_FOUND', `no decision ${id}`, [
        { path: 'id', message: 'no such decision' },
      ]);
    // the inputs the rule saw are sealed under the customer's data key: opened for the answer
    const record = await this.keys.openInputs(stored);
    return { ...record, explanation: explainRecord(record) };
  }

  @Get('events/:eventId/decision')
  @Requires('results.read')
  @ApiOperation({
    summary:
      'The decision of an event (every event has one, whatever its outcome: offer, control, late or none), with its explanation. Event ids are scoped per channel: name the channel.',
  })
  @ApiQuery({
    name: 'channel',
    required: true,
    description: 'the channel the event came in on (pos, web, …)',
  })
  async decisionOfEvent(@Param('eventId') eventId: string, @Query('channel') channel: unknown) {
    if (typeof channel !== 'string' || !isSubjectToken(channel))
      throw new ApiError(
        400,
        'VALIDATION_FAILED',
        "name the event's channel: ?channel=<channel> (event ids are scoped per channel)",
        [{ path: 'channel', message: 'required: 1-64 of [A-Za-z0-9_-]' }],
      );
    const id = decisionIdOf({ channel, id: eventId });
    const stored = await this.decisions.findById(id);
    if (!stored)
      throw new ApiError(
        404,
        'NOT_FOUND',
        `no decision for event ${eventId} of channel ${channel} (decision id ${id})`,
        [{ path: 'eventId', message: 'no decision for this event (not decided yet, refused, or expired)' }],
      );
    const record = await this.keys.openInputs(stored);
    return { ...record, explanation: explainRecord(record) };
  }

  @Get('campaigns')
  @Requires('campaigns.read')
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
