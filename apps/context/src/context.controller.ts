import { Controller, Delete, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { isSubjectToken } from '@nunchi/contracts/core';
import type { ErasureReceipt, UnlinkReceipt } from '@nunchi/contracts';
import { ApiError, Requires } from '@nunchi/telemetry/nest';
import { EraseCustomerUseCase } from './erase-customer.usecase.js';
import { GetContextUseCase } from './get-context.usecase.js';
import { UnlinkCustomerUseCase } from './unlink-customer.usecase.js';

@ApiTags('context')
@Controller('v1/customers')
export class ContextController {
  constructor(
    private readonly getContext: GetContextUseCase,
    private readonly eraseCustomer: EraseCustomerUseCase,
    private readonly unlinkCustomer: UnlinkCustomerUseCase,
  ) {}

  @Get(':id/context')
  @Requires('customers.read')
  @ApiOperation({
    summary:
      "A customer's profile and context snapshot (docs/context-model.md lists every field with its unit). " +
      '404 CUSTOMER_NOT_FOUND for an id with no profile, no events and no erasure.',
  })
  async context(@Param('id') id: string, @Query('storeId') storeId?: string) {
    const view = await this.getContext.execute(checkedId(id), storeId);
    // An empty profile with 200 would hide a typo in the id: an unknown customer is a 404. (An erased one
    // is known: it answers erased: true.)
    if (!view.erased && !view.profile && view.ctx.all.d365.events === 0 && view.ctx.recent.length === 0)
      throw new ApiError(404, 'CUSTOMER_NOT_FOUND', `no customer ${id}: no profile, no events`, [
        { path: 'id', message: 'no such customer' },
      ]);
    return view;
  }

  @Delete(':id')
  @Requires('customers.erase')
  @ApiOperation({
    summary:
      'Erase a customer: profile, identities, events, rollups, decisions, seen ids and cached state. Answers with the rows removed per table; ' +
      'a tombstone refuses the customer’s later or redelivered events. Safe to repeat.',
  })
  async erase(@Param('id') id: string): Promise<ErasureReceipt> {
    return this.eraseCustomer.execute(checkedId(id));
  }

  @Post(':id/unlink')
  @Requires('customers.unlink')
  @HttpCode(200)
  @ApiOperation({
    summary:
      'Undo a merge (docs/identity.md): the customer that was merged into another gets its events, identities, decisions and contact-ledger counts back. ' +
      '404 NOT_FOUND when the id was not merged into another; 409 CONFLICT while the merge is under way.',
  })
  async unlink(@Param('id') id: string): Promise<UnlinkReceipt> {
    return this.unlinkCustomer.execute(checkedId(id));
  }
}

function checkedId(id: string): string {
  if (!isSubjectToken(id))
    throw new ApiError(400, 'VALIDATION_FAILED', 'customer id must be 1-64 of [A-Za-z0-9_-]', [
      { path: 'id', message: 'must be 1-64 of [A-Za-z0-9_-]' },
    ]);
  return id;
}
