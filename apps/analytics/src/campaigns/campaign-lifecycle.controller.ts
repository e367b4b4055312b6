import { Body, Controller, HttpCode, Inject, Param, Post, Req, UseInterceptors } from '@nestjs/common';
import { ApiBody, ApiHeader, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { FastifyRequest } from 'fastify';
import { CampaignLifecycle, type CampaignPorts } from '@nunchi/operations';
import { CampaignErrorsInterceptor } from './campaign-errors.interceptor.js';
import { checkBody } from '../check-body.js';
import { ActivateBody, RollbackBody } from './campaign-requests.js';
import { ACTOR_HEADER, requestActor } from './request-actor.js';
import { CAMPAIGN_PORTS } from './tokens.js';
import { Requires } from '@nunchi/telemetry/nest';

const ACTOR = {
  name: ACTOR_HEADER,
  required: false,
  description:
    'Sent by the console with every change (a session cookie alone does not carry one); the audit trail records the authenticated caller.',
};

/**
 * Changes that store a version: activate the draft, pause, resume, end, archive, roll back. Which is
 * allowed from which state is libs/campaigns-model's; 409 CONFLICT says why not, 404 when there is nothing
 * to act on. Each answers {campaignId, version, changed, state, status}; decision replicas load a change
 * within a second.
 */
@ApiTags('campaigns')
@Controller('v1/campaigns')
@Requires('campaigns.activate')
@UseInterceptors(CampaignErrorsInterceptor)
export class CampaignLifecycleController {
  private readonly lifecycle: CampaignLifecycle;

  constructor(@Inject(CAMPAIGN_PORTS) ports: CampaignPorts) {
    this.lifecycle = new CampaignLifecycle(ports);
  }

  @Post(':id/activate')
  @HttpCode(200)
  @ApiOperation({
    summary: 'The draft becomes the next version, active (scheduled until its schedule begins).',
  })
  @ApiHeader(ACTOR)
  @ApiBody({ type: ActivateBody, required: false })
  @ApiResponse({
    status: 409,
    description:
      'CONFLICT: the draft moved on, or the campaign changed since the draft was started (force), or it has ended.',
  })
  @ApiResponse({
    status: 422,
    description: 'VALIDATION_FAILED: the draft has problems (every one by path, as the CLI prints them).',
  })
  activate(@Param('id') id: string, @Body() body: unknown, @Req() request: FastifyRequest) {
    const options = checkBody(ActivateBody, body);
    return this.lifecycle.activate(
      id,
      { revision: options.revision, force: options.force },
      requestActor(request),
    );
  }

  @Post(':id/pause')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Pause (a new version, paused): it decides nothing until resumed; caps and budget are kept.',
  })
  @ApiHeader(ACTOR)
  pause(@Param('id') id: string, @Req() request: FastifyRequest) {
    return this.lifecycle.setState(id, 'pause', requestActor(request));
  }

  @Post(':id/resume')
  @HttpCode(200)
  @ApiOperation({ summary: 'Resume a paused campaign (a new version, active).' })
  @ApiHeader(ACTOR)
  resume(@Param('id') id: string, @Req() request: FastifyRequest) {
    return this.lifecycle.setState(id, 'resume', requestActor(request));
  }

  @Post(':id/end')
  @HttpCode(200)
  @ApiOperation({ summary: 'End the campaign, for good (a new version, ended).' })
  @ApiHeader(ACTOR)
  end(@Param('id') id: string, @Req() request: FastifyRequest) {
    return this.lifecycle.setState(id, 'end', requestActor(request));
  }

  @Post(':id/archive')
  @HttpCode(200)
  @ApiOperation({ summary: 'Archive an ended campaign: out of every listing but all=true, for good.' })
  @ApiHeader(ACTOR)
  archive(@Param('id') id: string, @Req() request: FastifyRequest) {
    return this.lifecycle.setState(id, 'archive', requestActor(request));
  }

  @Post(':id/rollback')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Activate an earlier version again, as the next version (history is never rewritten).',
  })
  @ApiHeader(ACTOR)
  @ApiBody({ type: RollbackBody })
  rollback(@Param('id') id: string, @Body() body: unknown, @Req() request: FastifyRequest) {
    return this.lifecycle.rollback(id, checkBody(RollbackBody, body).version, requestActor(request));
  }
}
