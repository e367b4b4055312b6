import { Inject, Injectable } from '@nestjs/common';
import { CONFIG, type NunchiConfig } from '@nunchi/config';
import { buildSnapshot } from '@nunchi/context-model';
import type { ContextSnapshot, CustomerProfile } from '@nunchi/contracts';
import { LoadCustomerStateUseCase } from './load-customer-state.usecase.js';

export interface CustomerContextView {
  customerId: string;
  profile: CustomerProfile | null;
  ctx: ContextSnapshot;
}

@Injectable()
export class GetContextUseCase {
  constructor(
    @Inject(CONFIG) private readonly config: NunchiConfig,
    private readonly load: LoadCustomerStateUseCase,
  ) {}

  async execute(customerId: string, storeId?: string): Promise<CustomerContextView> {
    const nowMs = Date.now();
    const state = await this.load.execute(customerId, nowMs);
    return {
      customerId,
      profile: state.profile,
      ctx: buildSnapshot({ customerId, rows: state.rows, recent: state.recent, nowMs, timeZone: this.config.domain.timeZone, currentStoreId: storeId }),
    };
  }
}
