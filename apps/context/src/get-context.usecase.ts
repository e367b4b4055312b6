import { Inject, Injectable } from '@nestjs/common';
import { CONFIG } from '@nunchi/config/nest';
import type { NunchiConfig } from '@nunchi/config';
import type { ContextSnapshot, CustomerProfile } from '@nunchi/contracts';
import { snapshotOf } from './customer-snapshot.js';
import { LoadCustomerStateUseCase } from './load-customer-state.usecase.js';

export interface CustomerContextView {
  customerId: string;
  /** true once the customer was erased: profile null, context empty */
  erased: boolean;
  profile: CustomerProfile | null;
  ctx: ContextSnapshot;
}

/**
 * A customer's profile and context snapshot as of now (hot tier, else Cassandra): HTTP and NATS RPC. Asked for
 * a customer merged into another, it answers the survivor's (`customerId` names it).
 */
@Injectable()
export class GetContextUseCase {
  constructor(
    @Inject(CONFIG) private readonly config: NunchiConfig,
    private readonly load: LoadCustomerStateUseCase,
  ) {}

  async execute(customerId: string, storeId?: string, nowMs = Date.now()): Promise<CustomerContextView> {
    const state = await this.load.execute(customerId, nowMs);
    // A customer merged into another (docs/identity.md) is that one now: its view, under the survivor's id.
    if (state.mergedInto && !state.erased) return this.execute(state.mergedInto, storeId, nowMs);
    return {
      customerId,
      erased: state.erased,
      profile: state.profile,
      ctx: snapshotOf(customerId, state, nowMs, this.config.domain.timeZone, storeId),
    };
  }
}
