import {
  Body,
  Controller,
  Delete,
  Get,
  HttpCode,
  Inject,
  Param,
  Post,
  Put,
  Query,
  Req,
  UseInterceptors,
} from '@nestjs/common';
import { ApiBody, ApiHeader, ApiOperation, ApiQuery, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { FastifyRequest } from 'fastify';
import { ContractError } from '@nunchi/contracts/core';
import {
  CampaignDrafts,
  CampaignNotFoundError,
  CampaignQueries,
  parseVersionRef,
  sourceOf,
  TestCampaign,
  type CampaignPorts,
} from '@nunchi/operations';
import type { CampaignStatus } from '@nunchi/campaigns-model';
import { CampaignErrorsInterceptor } from './campaign-errors.interceptor.js';
import { checkBody } from '../check-body.js';
import { DraftBody, sourceOfBody, STATE_FILTERS, TestBody } from './campaign-requests.js';
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
 * Campaigns and their drafts: list, read, create and edit drafts, validate, dry-run one event, history and
 * diff. Every operation is a libs/operations use case, the same `nunchi campaigns` calls.
 */
@ApiTags('campaigns')
@Controller('v1/campaigns')
@UseInterceptors(CampaignErrorsInterceptor)
export class CampaignsController {
  private readonly queries: CampaignQueries;
  private readonly drafts: CampaignDrafts;

  constructor(@Inject(CAMPAIGN_PORTS) private readonly ports: CampaignPorts) {
    this.queries = new CampaignQueries(ports);
    this.drafts = new CampaignDrafts(ports);
  }

  @Get()
  @Requires('campaigns.read')
  @ApiOperation({
    summary:
      'Every campaign: status, current version, pending draft, budget used. Ended and archived ones only with all=true or that state.',
  })
  @ApiQuery({ name: 'state', required: false, enum: STATE_FILTERS })
  @ApiQuery({ name: 'all', required: false, type: Boolean })
  async list(@Query('state') state?: string, @Query('all') all?: string) {
    return {
      campaigns: await this.queries.list({
        status: state as CampaignStatus | undefined,
        all: all === 'true',
      }),
    };
  }

  @Post()
  @Requires('campaigns.draft')
  @ApiOperation({
    summary:
      'Create a campaign as a draft (its id from the text). Saved even with problems, which the answer lists; 409 if the campaign exists.',
  })
  @ApiHeader(ACTOR)
  @ApiBody({ type: DraftBody })
  @ApiResponse({ status: 201, description: '{campaignId, revision, problems: [{path, message}]}' })
  async create(@Body() body: unknown, @Req() request: FastifyRequest) {
    const draft = checkBody(DraftBody, body);
    return this.drafts.save(
      sourceOfBody(draft),
      { createOnly: true, revision: draft.revision },
      requestActor(request),
    );
  }

  @Post('validate')
  @Requires('campaigns.test')
  @HttpCode(200)
  @ApiOperation({
    summary:
      'Check a campaign text as activation would, without saving it: every problem by path, as the CLI prints them.',
  })
  @ApiBody({ type: DraftBody })
  validateText(@Body() body: unknown) {
    return this.drafts.validateSource(sourceOfBody(checkBody(DraftBody, body)));
  }

  @Get(':id')
  @Requires('campaigns.read')
  @ApiOperation({
    summary:
      'A campaign: status, allowed actions, current version (definition and YAML), draft (text and problems), versions.',
  })
  @ApiResponse({ status: 404, description: 'NOT_FOUND: no such campaign.' })
  get(@Param('id') id: string) {
    return this.queries.get(id);
  }

  @Get(':id/draft')
  @Requires('campaigns.read')
  @ApiOperation({
    summary: "The campaign's draft: text, revision, the version it started from, its problems.",
  })
  async draft(@Param('id') id: string) {
    const detail = await this.queries.get(id);
    if (!detail.draft) throw new CampaignNotFoundError(`${id} has no draft`);
    return { campaignId: id, ...detail.draft };
  }

  @Put(':id/draft')
  @Requires('campaigns.draft')
  @ApiOperation({
    summary:
      "Save the campaign's draft (created or replaced). Saved even with problems (listed); never seen by a decision replica.",
  })
  @ApiHeader(ACTOR)
  @ApiBody({ type: DraftBody })
  @ApiResponse({ status: 200, description: '{campaignId, revision, baseVersion, problems}' })
  @ApiResponse({
    status: 409,
    description: 'CONFLICT: the draft moved on since `revision`, or the campaign has ended.',
  })
  save(@Param('id') id: string, @Body() body: unknown, @Req() request: FastifyRequest) {
    const draft = checkBody(DraftBody, body);
    return this.drafts.save(
      sourceOfBody(draft),
      { campaignId: id, revision: draft.revision },
      requestActor(request),
    );
  }

  @Delete(':id/draft')
  @Requires('campaigns.draft')
  @ApiOperation({ summary: "Discard the campaign's draft (its versions are untouched)." })
  @ApiHeader(ACTOR)
  @ApiQuery({ name: 'revision', required: false, type: Number })
  discard(
    @Param('id') id: string,
    @Query('revision') revision: string | undefined,
    @Req() request: FastifyRequest,
  ) {
    return this.drafts.discard(id, { revision: revisionOf(revision) }, requestActor(request));
  }

  @Post(':id/draft/validate')
  @Requires('campaigns.test')
  @HttpCode(200)
  @ApiOperation({
    summary:
      "Check the campaign's draft as activation would: {valid, problems by path, text as the CLI prints it}.",
  })
  validate(@Param('id') id: string) {
    return this.drafts.validateDraft(id);
  }

  @Post(':id/test')
  @Requires('campaigns.test')
  @HttpCode(200)
  @ApiOperation({
    summary:
      'Dry run: decide one event for one customer on their stored profile, context and caps, with every campaign explained. Sends and writes nothing.',
  })
  @ApiBody({ type: TestBody })
  async test(@Param('id') id: string, @Body() body: unknown) {
    const input = checkBody(TestBody, body);
    const text = await sourceOf(
      this.ports,
      id,
      input.version === undefined ? undefined : parseVersionRef(input.version, 'version'),
    );
    try {
      const report = await new TestCampaign(this.ports).run({
        source: text.source,
        version: text.version,
        event: input.event,
        customerId: input.customerId,
        withLive: input.withLive,
      });
      return { tested: text.label, ...report };
    } catch (error) {
      // The event's problems, addressed inside the request body.
      if (error instanceof ContractError)
        throw new ContractError(
          error.code,
          error.details.map((d) => ({ ...d, path: d.path ? `event.${d.path}` : 'event' })),
        );
      throw error;
    }
  }

  @Get(':id/history')
  @Requires('campaigns.read')
  @ApiOperation({
    summary:
      'Every version (state, when, by whom) and every audited change, newest first: who (unverified), when, what, from where.',
  })
  history(@Param('id') id: string) {
    return this.queries.history(id);
  }

  @Get(':id/diff')
  @Requires('campaigns.read')
  @ApiOperation({ summary: 'Two versions (a number, current or draft) as YAML, and their unified diff.' })
  @ApiQuery({ name: 'from', example: '1' })
  @ApiQuery({ name: 'to', example: 'draft' })
  diff(@Param('id') id: string, @Query('from') from = '', @Query('to') to = '') {
    return this.queries.diff(id, parseVersionRef(from, 'from'), parseVersionRef(to, 'to'));
  }
}

function revisionOf(text: string | undefined): number | undefined {
  if (text === undefined || text === '') return undefined;
  if (!/^[1-9]\d{0,8}$/.test(text))
    throw new ContractError('VALIDATION_FAILED', [
      { path: 'revision', message: `must be a revision number, not "${text}"` },
    ]);
  return Number(text);
}
