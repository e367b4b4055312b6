import { Body, Controller, Get, HttpCode, Param, Post, Req } from '@nestjs/common';
import {
  ApiBody,
  ApiOperation,
  ApiProperty,
  ApiPropertyOptional,
  ApiResponse,
  ApiTags,
} from '@nestjs/swagger';
import type { FastifyRequest } from 'fastify';
import { IsArray, IsInt, IsOptional, IsString } from 'class-validator';
import { checkKeyRequest, KEY_ID_PATTERN, ROLES } from '@nunchi/access';
import { callerLabel, callerOf } from '@nunchi/auth';
import { ApiKeyRepository, newApiKey } from '@nunchi/cassandra';
import { ContractError } from '@nunchi/contracts/core';
import { ApiError, Requires } from '@nunchi/telemetry/nest';
import { checkBody } from '../check-body.js';

/** POST /v1/keys: the fields are those of `nunchi keys create`; libs/access checkKeyRequest judges them. */
export class CreateKeyBody {
  @ApiProperty({ enum: ROLES, example: 'adapter' })
  @IsString()
  role!: string;

  @ApiProperty({ description: 'Who or what holds it (shown in the audit log).', example: 'till-gateway' })
  @IsString()
  name!: string;

  @ApiPropertyOptional({
    description: 'Adapter keys: the channels it may send events for (one at least). Other roles: none.',
    example: ['pos'],
  })
  @IsOptional()
  @IsArray()
  @IsString({ each: true })
  channels?: string[];

  @ApiPropertyOptional({
    description:
      'Requests per second per service replica (default: 2000 for adapters, 100 for admin, else 50).',
  })
  @IsOptional()
  @IsInt()
  ratePerSecond?: number;

  @ApiPropertyOptional({ description: 'Expire after this many days (default: never; revoke instead).' })
  @IsOptional()
  @IsInt()
  expiresInDays?: number;
}

/**
 * API keys over HTTP, for admins (`keys.manage`; listing `keys.read`): the same keys, checks and audit trail as
 * `nunchi keys`, without the database's credentials. A key is shown once, in the answer that creates it.
 */
@ApiTags('keys')
@Controller('v1/keys')
export class KeysController {
  constructor(private readonly keys: ApiKeyRepository) {}

  @Post()
  @HttpCode(201)
  @Requires('keys.manage')
  @ApiOperation({ summary: 'Create an API key: {key, keyId, role, …}; the key is not shown again.' })
  @ApiBody({ type: CreateKeyBody })
  @ApiResponse({ status: 400, description: 'VALIDATION_FAILED: every problem by field.' })
  async create(@Body() body: unknown, @Req() request: FastifyRequest) {
    const checked = checkKeyRequest(checkBody(CreateKeyBody, body));
    if (!checked.ok)
      throw new ContractError(
        'VALIDATION_FAILED',
        checked.problems.map((p) => ({ path: p.field, message: p.message })),
      );
    const nowMs = Date.now();
    const { key, record } = await this.keys.create(
      newApiKey(checked.value, callerLabel(callerOf(request)!), nowMs),
      nowMs,
    );
    return { key, ...record };
  }

  @Get()
  @Requires('keys.read')
  @ApiOperation({ summary: 'Every API key with its role, rate and state (never a secret).' })
  async list() {
    return { keys: await this.keys.list() };
  }

  @Post(':keyId/revoke')
  @HttpCode(200)
  @Requires('keys.manage')
  @ApiOperation({
    summary:
      'Revoke a key: every service refuses it within NUNCHI_AUTH_CACHE_TTL_MS (30 s). A repeat is a no-op.',
  })
  @ApiResponse({ status: 404, description: 'NOT_FOUND: no such key.' })
  async revoke(@Param('keyId') keyId: string, @Req() request: FastifyRequest) {
    const found =
      KEY_ID_PATTERN.test(keyId) &&
      (await this.keys.revoke(keyId, callerLabel(callerOf(request)!), Date.now()));
    if (!found)
      throw new ApiError(404, 'NOT_FOUND', `no API key ${keyId}`, [
        { path: 'keyId', message: 'no such key (12 hex characters: `nunchi keys list`)' },
      ]);
    return { keyId, revoked: true };
  }
}
