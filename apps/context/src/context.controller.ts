import { BadRequestException, Controller, Get, Param, Query } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { isSubjectToken } from '@nunchi/contracts';
import { GetContextUseCase } from './get-context.usecase.js';

@ApiTags('context')
@Controller('v1/customers')
export class ContextController {
  constructor(private readonly getContext: GetContextUseCase) {}

  @Get(':id/context')
  @ApiOperation({ summary: "A customer's profile and context snapshot (docs/cel-reference.md lists every field)." })
  async context(@Param('id') id: string, @Query('storeId') storeId?: string) {
    if (!isSubjectToken(id)) throw new BadRequestException('customer id must be 1-64 of [A-Za-z0-9_-]');
    return this.getContext.execute(id, storeId);
  }
}
