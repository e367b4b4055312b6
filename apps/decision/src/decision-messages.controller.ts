import { Inject, type OnModuleInit } from '@nestjs/common';
import { Ctx, EventPattern, Payload } from '@nestjs/microservices';
import { CONFIG } from '@nunchi/config/nest';
import type { NunchiConfig } from '@nunchi/config';
import {
  partitionOf,
  Streams,
  Subjects,
  type CampaignsChanged,
  type CustomersChanged,
} from '@nunchi/contracts/core';
import type { EnrichedMessage } from '@nunchi/contracts';
import {
  JetStreamContext,
  onStream,
  PartitionAssignments,
  type Outcome,
  MessageController,
} from '@nunchi/messaging';
import { CampaignSetHolder } from '@nunchi/cassandra/nest';
import { CustomerKeyring } from '@nunchi/cassandra';
import { ContactClaims } from './contact-claims.js';
import { DecideUseCase } from './decide.usecase.js';

/** The consumer group of decision replicas: they split ENRICHED's partitions by lease. */
export const DECISION_GROUP = 'decision';

/**
 * ENRICHED → decision. Each partition is decided by one replica at a time, as in context, so one customer's
 * decisions are made in order. Caps and budgets do not depend on it: they are exact however many replicas
 * decide one customer at once (during a handover, for example).
 */
@MessageController()
export class DecisionMessagesController implements OnModuleInit {
  constructor(
    @Inject(CONFIG) private readonly config: NunchiConfig,
    private readonly decide: DecideUseCase,
    private readonly campaigns: CampaignSetHolder,
    private readonly contacts: ContactClaims,
    private readonly assignments: PartitionAssignments,
    private readonly keys: CustomerKeyring,
  ) {}

  onModuleInit(): void {
    const partitions = this.config.nats.partitions;
    this.assignments.group(DECISION_GROUP).onChange({
      // Its customers are decided elsewhere now: their cached ledgers would only go stale.
      released: (partition) => {
        this.contacts.forget((customerId) => partitionOf(customerId, partitions) === partition);
      },
    });
  }

  @EventPattern(
    Subjects.enrichedAll,
    onStream<EnrichedMessage>({
      stream: Streams.ENRICHED.name,
      group: DECISION_GROUP,
      partitionSubject: Subjects.enriched,
      stage: 'decision',
      span: 'decision.decide',
      orderingKey: (enriched) => enriched.event.customerId,
    }),
  )
  decideEvent(@Ctx() message: JetStreamContext<EnrichedMessage>): Promise<Outcome> {
    return this.decide.execute(message.delivery);
  }

  /**
   * Customers changed outside the event flow — an erasure among them: their data keys leave memory at once, so
   * their messages still in ENRICHED no longer open here (the erasure deleted the keys; a replica that misses
   * this hint drops them from the erasure log, ErasedKeyEviction).
   */
  @EventPattern(Subjects.customersChanged)
  customersChanged(@Payload() hint: CustomersChanged): void {
    if (Array.isArray(hint?.ids))
      this.keys.evict(hint.ids.filter((id): id is string => typeof id === 'string'));
  }

  /** A campaign was applied or changed state: reload now rather than at the next poll. */
  @EventPattern(Subjects.campaignsChanged)
  campaignsChanged(@Payload() _hint: CampaignsChanged): void {
    void this.campaigns.reload();
  }
}
