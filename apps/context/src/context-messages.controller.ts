import { EventPattern, MessagePattern, Payload } from '@nestjs/microservices';
import { ContextRequestDto, Subjects, type CustomersChanged } from '@nunchi/contracts';
import { onSubject, MessageController } from '@nunchi/messaging';
import { CustomerStateCache } from './customer-state.cache.js';
import { GetContextUseCase } from './get-context.usecase.js';

@MessageController()
export class ContextMessagesController {
  constructor(
    private readonly getContext: GetContextUseCase,
    private readonly cache: CustomerStateCache,
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
    if (Array.isArray(hint?.ids)) for (const id of hint.ids) if (typeof id === 'string') this.cache.evict(id);
  }
}
