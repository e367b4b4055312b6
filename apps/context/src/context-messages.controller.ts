import { EventPattern, MessagePattern, Payload } from '@nestjs/microservices';
import { ContextRequestDto, Subjects, type CampaignsChanged, type CustomersChanged } from '@nunchi/contracts';
import { CampaignSetHolder } from '@nunchi/cassandra/nest';
import { CustomerKeyring } from '@nunchi/cassandra';
import { onSubject, MessageController } from '@nunchi/messaging';
import { CustomerStateCache } from './customer-state.cache.js';
import { GetContextUseCase } from './get-context.usecase.js';

@MessageController()
export class ContextMessagesController {
  constructor(
    private readonly getContext: GetContextUseCase,
    private readonly cache: CustomerStateCache,
    private readonly keys: CustomerKeyring,
    private readonly campaigns: CampaignSetHolder,
  ) {}

  /** Request {"customerId", "storeId"?} → {"ok": true, ...the customer's context}; replicas share the queue. */
  @MessagePattern(Subjects.contextGet, onSubject({ queue: 'nunchi-context' }))
  async get(@Payload() request: ContextRequestDto) {
    return { ok: true, ...(await this.getContext.execute(request.customerId, request.storeId)) };
  }

  /** Profiles changed outside the event flow (import, erasure): dropped from the hot tier; the next read refills. */
  @EventPattern(Subjects.customersChanged)
  customersChanged(@Payload() hint: CustomersChanged): void {
    // A malformed hint is ignored: the cache stays correct for event-driven changes either way.
    if (!Array.isArray(hint?.ids)) return;
    const ids = hint.ids.filter((id): id is string => typeof id === 'string');
    for (const id of ids) this.cache.evict(id);
    // an erasure deleted their data keys (an import or a merge did not: the next use reads the key again)
    this.keys.evict(ids);
  }

  /**
   * A campaign was applied or changed state: reload now rather than at the next poll — the set says which event
   * patterns to fold and which parts of the context ENRICHED carries (a campaign reading a part the others do
   * not gets it from the events enriched after this reload).
   */
  @EventPattern(Subjects.campaignsChanged)
  campaignsChanged(@Payload() _hint: CampaignsChanged): void {
    void this.campaigns.reload();
  }
}
