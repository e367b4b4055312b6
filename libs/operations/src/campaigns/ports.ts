import {
  CampaignAuditRepository,
  CampaignDraftRepository,
  CampaignRepository,
  ContextRepository,
  CustomerRepository,
  EventPackRepository,
  DecisionRepository,
  customerStores,
  type CqlClient,
} from '@nunchi/cassandra';
import type { DomainConfig } from '@nunchi/config';

/**
 * What the campaign use cases need from the world: repositories, a way to tell decision replicas that a
 * campaign changed, a clock and the business settings. The CLI builds it from its connections, the
 * campaigns HTTP API from Nest providers, tests from theirs: one implementation of each operation.
 */
export interface CampaignPorts {
  campaigns: CampaignRepository;
  drafts: CampaignDraftRepository;
  audit: CampaignAuditRepository;
  decisions: DecisionRepository;
  customers: CustomerRepository;
  history: ContextRepository;
  /** packed weeks of the history: simulation reads them in place of a week's rows when current */
  packs: EventPackRepository;
  /** tells decision replicas that a campaign has a new version (the core NATS hint; replicas also poll) */
  announce(campaignId: string, version: number): Promise<void>;
  /** epoch milliseconds */
  now(): number;
  domain: Pick<DomainConfig, 'timeZone' | 'maxOffersPerCustomerPerDay' | 'contactPolicy' | 'eventTtlDays'>;
}

/** Ports over one Cassandra client. */
export function campaignPorts(
  cql: CqlClient,
  domain: CampaignPorts['domain'] & Pick<DomainConfig, 'identityKey' | 'previousIdentityKeys'>,
  announce: CampaignPorts['announce'],
  now: () => number = Date.now,
): CampaignPorts {
  // profiles and history are sealed under each customer's data key, wrapped under the identity keys
  const { customers, history, packs } = customerStores(cql, domain);
  return {
    campaigns: new CampaignRepository(cql),
    drafts: new CampaignDraftRepository(cql),
    audit: new CampaignAuditRepository(cql),
    decisions: new DecisionRepository(cql),
    customers,
    history,
    packs,
    announce,
    now,
    domain,
  };
}
