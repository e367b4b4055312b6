import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import {
  IsBoolean,
  IsInt,
  IsNumber,
  IsObject,
  IsOptional,
  IsString,
  Matches,
  Max,
  MaxLength,
  Min,
} from 'class-validator';
import { ContractError } from '@nunchi/contracts/core';
import { DRAFT_SOURCE_MAX_LENGTH } from '@nunchi/campaigns-model/definitions';

/**
 * Request bodies of the campaigns API. One class each: the OpenAPI document is generated from the same
 * decorators that check the body (checkBody, ../check-body.ts), so the two cannot disagree.
 */

/** A version as requests name it: a number, `current` or `draft` (what `nunchi campaigns diff` takes). */
export const VERSION_REF_PATTERN = /^(v?[1-9]\d{0,8}|current|draft)$/;

export class DraftBody {
  @ApiPropertyOptional({
    description: `The campaign as YAML or JSON text (docs/campaigns.md), at most ${DRAFT_SOURCE_MAX_LENGTH} characters. Give this or \`definition\`.`,
    example:
      'id: autumn-wine\nname: Autumn wine\ntrigger: { types: [purchase] }\noffers: [{ id: a, title: A, value: 1000 }]\n',
  })
  @IsOptional()
  @IsString()
  @MaxLength(DRAFT_SOURCE_MAX_LENGTH)
  source?: string;

  @ApiPropertyOptional({
    description: 'The campaign as a JSON object (stored as its JSON text). Give this or `source`.',
  })
  @IsOptional()
  @IsObject()
  definition?: Record<string, unknown>;

  @ApiPropertyOptional({
    description:
      'The draft revision this edit was made from: refused with 409 if the draft changed since. Omit to overwrite.',
  })
  @IsOptional()
  @IsInt()
  @Min(1)
  revision?: number;
}

export class ActivateBody {
  @ApiPropertyOptional({ description: 'Activate only if the draft is still at this revision.' })
  @IsOptional()
  @IsInt()
  @Min(1)
  revision?: number;

  @ApiPropertyOptional({
    description:
      'Activate even though the campaign got a version since the draft was started (that version is replaced).',
  })
  @IsOptional()
  @IsBoolean()
  force?: boolean;
}

export class RollbackBody {
  @ApiProperty({ description: 'The earlier version to activate again (as a new version).', example: 2 })
  @IsInt()
  @Min(1)
  version!: number;
}

export class TestBody {
  @ApiProperty({
    description:
      'The event as an adapter sends it (docs/schemas/event.schema.json); its customer reference is replaced by customerId.',
  })
  @IsObject()
  event!: Record<string, unknown>;

  @ApiProperty({ example: 'c-000042' })
  @IsString()
  @Matches(/^[A-Za-z0-9_-]{1,64}$/, { message: 'customerId must be 1-64 of [A-Za-z0-9_-]' })
  customerId!: string;

  @ApiPropertyOptional({
    description:
      'Which text to test: draft, current or a version number. Default: the draft if any, else current.',
  })
  @IsOptional()
  @IsString()
  @Matches(VERSION_REF_PATTERN, { message: 'version must be a version number, current or draft' })
  version?: string;

  @ApiPropertyOptional({ description: 'Arbitrate against the live campaigns too.' })
  @IsOptional()
  @IsBoolean()
  withLive?: boolean;
}

export class SimulateBody {
  @ApiPropertyOptional({
    description:
      'What to simulate: `draft` (as the next version), `as-run` (the stored versions over time, as they ran) or a version number. Default: the draft if any, else as-run.',
  })
  @IsOptional()
  @IsString()
  @Matches(/^(draft|as-run|v?[1-9]\d{0,8})$/, {
    message: 'version must be draft, as-run or a version number',
  })
  version?: string;

  @ApiPropertyOptional({
    description:
      'YYYY-MM-DD (local day, from its start) or an ISO-8601 instant. Default: 30 days before `to`.',
  })
  @IsOptional()
  @IsString()
  from?: string;

  @ApiPropertyOptional({
    description: 'YYYY-MM-DD (local day, inclusive) or an ISO-8601 instant (exclusive). Default: now.',
  })
  @IsOptional()
  @IsString()
  to?: string;

  @ApiPropertyOptional({
    description: 'Compete with the campaigns live at each event, in their versions of that time.',
  })
  @IsOptional()
  @IsBoolean()
  withLive?: boolean;

  @ApiPropertyOptional({
    description: 'Only this percentage of customers (stable by customer id), 0 < p ≤ 100.',
  })
  @IsOptional()
  @IsNumber()
  @Min(0.001)
  @Max(100)
  sample?: number;

  @ApiPropertyOptional({ description: 'Explained decisions in the report. @default 10' })
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(100)
  sampleSize?: number;
}

export const STATE_FILTERS = ['active', 'paused', 'ended', 'scheduled', 'draft', 'archived'] as const;

/** Lifecycle verbs with no body. */
export const STATE_ACTIONS = ['pause', 'resume', 'end', 'archive'] as const;

/** A body's campaign text: `source` as given, or `definition` as JSON text; one of them is required. */
export function sourceOfBody(body: DraftBody): string {
  if ((body.source === undefined) === (body.definition === undefined))
    throw new ContractError('VALIDATION_FAILED', [
      {
        path: 'source',
        message: 'give the campaign as `source` (YAML or JSON text) or as `definition` (an object), not both',
      },
    ]);
  return body.source ?? JSON.stringify(body.definition, null, 2);
}
