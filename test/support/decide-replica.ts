import type { CqlClient } from '@nunchi/cassandra';
import { CustomerKeyRepository, CustomerKeyring, DecisionRepository } from '@nunchi/cassandra';
import { identityKeys, type NunchiConfig } from '@nunchi/config';
import { emptySnapshot } from '@nunchi/context-model';
import { Headers, type DecisionRecord, type OfferMessage } from '@nunchi/contracts/core';
import type { AcceptedEvent, EnrichedMessage } from '@nunchi/contracts';
import type { Delivery, Publisher } from '@nunchi/messaging';
import { CampaignSet, compileCampaign, parseCampaign, type CampaignDefinition } from '@nunchi/rules';
import { BudgetClaims } from '../../apps/decision/src/budget-claims.js';
import type { CampaignSetHolder } from '@nunchi/cassandra/nest';
import { OfferChooser } from '../../apps/decision/src/choose-offer.js';
import { ContactClaims } from '../../apps/decision/src/contact-claims.js';
import { DecideUseCase } from '../../apps/decision/src/decide.usecase.js';

/** Medium tests of the decide use case: one replica as its parts, against the real Cassandra. */

/** A use case as one replica has it: its own Cassandra client, a publisher that records (or fails). */
export function decideReplica(
  cql: CqlClient,
  config: NunchiConfig,
  set: CampaignSet,
  options: {
    /** the deadline, ms; @default config's */
    slaMs?: number;
    /** DECISIONS publications fail while this says so (NATS gone) */
    failPersist?: () => boolean;
    /** each contact claim waits this long first, ms */
    slowClaimsMs?: number;
  } = {},
) {
  const sent: OfferMessage[] = [];
  const published: DecisionRecord[] = [];
  const publisher = {
    emit: (_subject: string, body: unknown) => void sent.push(body as OfferMessage),
    persist: (_subject: string, body: unknown) => {
      if (options.failPersist?.()) return Promise.reject(new Error('NATS went away'));
      published.push(body as DecisionRecord);
      return Promise.resolve({ duplicate: false });
    },
  } as unknown as Publisher;
  const repo = new DecisionRepository(cql);
  const contacts = new ContactClaims(repo);
  if (options.slowClaimsMs) {
    const claim = contacts.claim.bind(contacts);
    contacts.claim = async (...args) => {
      await new Promise((r) => setTimeout(r, options.slowClaimsMs));
      return claim(...args);
    };
  }
  const cfg =
    options.slaMs === undefined ? config : { ...config, domain: { ...config.domain, slaMs: options.slaMs } };
  const useCase = new DecideUseCase(
    cfg,
    { current: set } as CampaignSetHolder,
    repo,
    new OfferChooser(cfg, contacts, new BudgetClaims(repo)),
    publisher,
    new CustomerKeyring(new CustomerKeyRepository(cql), identityKeys(cfg), { maxEntries: 1_000 }),
  );
  return { useCase, sent, published, repo, contacts };
}

/** Campaigns on pos purchases in Asia/Seoul, each with one offer unless given. */
export function campaignSet(
  config: NunchiConfig,
  ...definitions: Array<Partial<CampaignDefinition> & { id: string }>
): CampaignSet {
  return new CampaignSet(
    definitions.map((d) =>
      compileCampaign(
        parseCampaign({
          name: d.id,
          trigger: { types: ['purchase'] },
          schedule: { timezone: 'Asia/Seoul' },
          offers: [{ id: 'thanks', title: 'Thanks', value: 1000 }],
          ...d,
        }),
        1,
      ),
    ),
    { maxOffersPerCustomerPerDay: config.domain.maxOffersPerCustomerPerDay },
  );
}

/** A purchase that occurred at `occurredAtMs` and was received by ingestion at `receivedAtMs`. */
export function purchaseDelivery(
  id: string,
  customerId: string,
  options: {
    occurredAtMs?: number;
    receivedAtMs?: number;
    type?: AcceptedEvent['type'];
    redelivered?: boolean;
  } = {},
): Delivery<EnrichedMessage> {
  const now = Date.now();
  const occurredAtMs = options.occurredAtMs ?? now;
  const receivedAtMs = options.receivedAtMs ?? now;
  const event: AcceptedEvent = {
    id,
    type: options.type ?? 'purchase',
    channel: 'pos',
    occurredAt: new Date(occurredAtMs).toISOString(),
    occurredAtMs,
    receivedAtMs,
    customerId,
    storeId: 'store-1',
    payload: {
      amount: 10_000,
      currency: 'KRW',
      items: [{ sku: 's', category: 'snacks', quantity: 1, unitPrice: 10_000 }],
    },
  };
  return {
    body: { event, customer: null, ctx: emptySnapshot(customerId, occurredAtMs) },
    subject: 'mkt.enriched.0',
    seq: 1,
    deliveryCount: options.redelivered ? 2 : 1,
    redelivered: options.redelivered ?? false,
    header: (name) => (name === Headers.receivedAt ? String(receivedAtMs) : undefined),
  };
}
