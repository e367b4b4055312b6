import { Controller, Get, Query } from '@nestjs/common';
import { ApiOperation, ApiQuery, ApiTags } from '@nestjs/swagger';
import { AuditLogRepository, isUtcDay, utcDay } from '@nunchi/cassandra';
import { ApiError, Requires } from '@nunchi/telemetry/nest';

/** How far back one request may read: a year of days, a read per day. */
export const MAX_AUDIT_DAYS = 366;

/**
 * The audit log over HTTP (`audit.read`: privacy officers and admins), as `nunchi audit` reads it from
 * Cassandra: every change made over HTTP or by the CLI, newest first, a UTC day at a time.
 */
@ApiTags('audit')
@Controller('v1/audit')
export class AuditController {
  constructor(private readonly audit: AuditLogRepository) {}

  @Get()
  @Requires('audit.read')
  @ApiOperation({
    summary: `The audit log, newest first: \`days\` UTC days (default 1, at most ${MAX_AUDIT_DAYS}) ending with \`day\` (YYYY-MM-DD, default today).`,
  })
  @ApiQuery({ name: 'day', required: false, example: '2026-12-01' })
  @ApiQuery({ name: 'days', required: false, type: Number })
  async read(@Query('day') day?: string, @Query('days') days?: string) {
    const lastDay = day === undefined || day === '' ? utcDay(Date.now()) : day;
    if (!isUtcDay(lastDay))
      throw new ApiError(400, 'VALIDATION_FAILED', `day must be a date YYYY-MM-DD, not ${lastDay}`, [
        { path: 'day', message: 'a UTC date, YYYY-MM-DD' },
      ]);
    const n = days === undefined || days === '' ? 1 : Number(days);
    if (!Number.isInteger(n) || n < 1 || n > MAX_AUDIT_DAYS)
      throw new ApiError(400, 'VALIDATION_FAILED', `days must be 1 to ${MAX_AUDIT_DAYS}`, [
        { path: 'days', message: `an integer from 1 to ${MAX_AUDIT_DAYS}` },
      ]);
    return { day: lastDay, days: n, changes: await this.audit.ofDays(lastDay, n) };
  }
}
