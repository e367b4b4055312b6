import {
  Body,
  Controller,
  Delete,
  Get,
  HttpCode,
  Inject,
  Param,
  Post,
  Req,
  Res,
  UseInterceptors,
} from '@nestjs/common';
import { ApiBody, ApiHeader, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import { createReadStream } from 'node:fs';
import type { FastifyReply, FastifyRequest } from 'fastify';
import {
  CampaignNotFoundError,
  checkSample,
  parseVersionRef,
  period,
  readState,
  type CampaignPorts,
  type SimulationTarget,
} from '@nunchi/operations';
import { ApiError, Requires } from '@nunchi/telemetry/nest';
import { CampaignErrorsInterceptor } from './campaign-errors.interceptor.js';
import { checkBody } from '../check-body.js';
import { SimulateBody } from './campaign-requests.js';
import { ACTOR_HEADER, requestActor } from './request-actor.js';
import { SimulationJobs } from './simulation-jobs.js';
import { CAMPAIGN_PORTS } from './tokens.js';

/**
 * Simulation on history as jobs: started here, run by a worker process of their own (simulation.worker.ts),
 * followed here (progress, then the report), cancelled here. The same use case as `nunchi campaigns simulate`.
 */
@ApiTags('simulations')
@Controller('v1')
@Requires('campaigns.test')
@UseInterceptors(CampaignErrorsInterceptor)
export class SimulationsController {
  constructor(
    @Inject(CAMPAIGN_PORTS) private readonly ports: CampaignPorts,
    private readonly jobs: SimulationJobs,
  ) {}

  @Post('campaigns/:id/simulations')
  @HttpCode(202)
  @ApiOperation({
    summary:
      'Start simulating the campaign (its draft, as it ran, or one version) on stored history; answers the job to follow.',
  })
  @ApiHeader({ name: ACTOR_HEADER, required: false })
  @ApiBody({ type: SimulateBody, required: false })
  @ApiResponse({
    status: 202,
    description: 'The job: {id, status: running, …}; follow it at GET /v1/simulations/{id}.',
  })
  @ApiResponse({
    status: 409,
    description: 'CONFLICT: a simulation is running already (one at a time): retry later, or cancel it.',
  })
  async start(@Param('id') id: string, @Body() body: unknown, @Req() request: FastifyRequest) {
    const input = checkBody(SimulateBody, body);
    // Bad dates and percentages are answered now, not as a failed job.
    period(input.from, input.to, this.ports.domain.timeZone, this.ports.now());
    checkSample(input.sample);
    const state = await readState(this.ports, id);
    if (!state.latest && state.draft?.source === undefined)
      throw new CampaignNotFoundError(`no campaign ${id}`);
    const ref = input.version ?? (state.draft?.source !== undefined ? 'draft' : 'as-run');
    let target: SimulationTarget;
    let label: string;
    if (ref === 'draft') {
      if (state.draft?.source === undefined) throw new CampaignNotFoundError(`${id} has no draft`, 'version');
      // The draft as it is now: later edits do not change a running simulation.
      target = { kind: 'source', source: state.draft.source, label: `${id} draft` };
      label = `draft (revision ${state.draft.revision})`;
    } else if (ref === 'as-run') {
      target = { kind: 'stored', campaignId: id };
      label = 'as-run';
    } else {
      const version = parseVersionRef(ref, 'version') as number;
      target = { kind: 'stored', campaignId: id, version };
      label = `v${version}`;
    }
    const options = {
      from: input.from,
      to: input.to,
      withLive: input.withLive,
      sample: input.sample,
      sampleSize: input.sampleSize,
    };
    return this.jobs.start(id, label, { target, options }, requestActor(request).name);
  }

  @Get('simulations/:sid')
  @ApiOperation({
    summary:
      'A simulation: status (running, done, failed, cancelled), progress (phase, done/total, events/s, seconds left), then the report.',
  })
  get(@Param('sid') sid: string) {
    return this.job(sid);
  }

  @Get('simulations/:sid/decisions')
  @ApiOperation({
    summary:
      'A finished simulation’s decisions as NDJSON: {eventId, customerId, occurredAt, campaignId, campaignVersion, offerId, outcome, reason}.',
  })
  decisions(@Param('sid') sid: string, @Res() reply: FastifyReply) {
    const job = this.job(sid);
    const file = this.jobs.decisionsFile(sid);
    if (!file)
      throw new ApiError(
        409,
        'CONFLICT',
        `simulation ${sid} is ${job.status}: its decisions exist once it is done`,
      );
    return reply.type('application/x-ndjson').send(createReadStream(file));
  }

  @Delete('simulations/:sid')
  @ApiOperation({ summary: 'Cancel a running simulation (its worker stops; nothing is left behind).' })
  cancel(@Param('sid') sid: string) {
    this.job(sid);
    return this.jobs.cancel(sid);
  }

  private job(sid: string) {
    const job = this.jobs.get(sid);
    if (!job)
      throw new ApiError(404, 'NOT_FOUND', `no simulation ${sid}`, [
        {
          path: 'sid',
          message: 'no such simulation (or forgotten: the service keeps the last 20 finished ones)',
        },
      ]);
    return job;
  }
}
