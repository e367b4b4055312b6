import { BadRequestException, Controller, Delete, Get, Param, Query } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { isSubjectToken, type ErasureReceipt } from '@nunchi/contracts';
import { EraseCustomerUseCase } from './erase-customer.usecase.js';
import { GetContextUseCase } from './get-context.usecase.js';

@ApiTags('context')
@Controller('v1/customers')
export class ContextController {
  constructor(
    private readonly getContext: GetContextUseCase,
    private readonly eraseCustomer: EraseCustomerUseCase,
  ) {}

  @Get(':id/context')
  @ApiOperation({
    summary:
      "A customer's profile and context snapshot (docs/context-model.md lists every field with its unit).",
  })
  async context(@Param('id') id: string, @Query('storeId') storeId?: string) {
    return this.getContext.execute(checkedId(id), storeId);
  }

  @Delete(':id')
  @ApiOperation({
    summary:
      'Erase a customer: profile, identities, events, rollups, decisions, seen ids and cached state. Answers with the rows removed per table; ' +
      'a tombstone refuses the customer’s later or redelivered events. Safe to repeat.',
  })
  async erase(@Param('id') id: string): Promise<ErasureReceipt> {
    return this.eraseCustomer.execute(checkedId(id));
  }
}

function checkedId(id: string): string {
  if (!isSubjectToken(id)) throw new BadRequestException('customer id must be 1-64 of [A-Za-z0-9_-]');
  return id;
}
