import type { ContextRequestDto, EnrichedMessage } from './context.js';
import type { DecisionRecord, OfferMessage } from './decisions.js';
import type { ErrorReply, IngestReply } from './errors.js';
import type { EventsMessage } from './events.js';
import type { DlqStage, LagReport } from './subjects.js';

/** Hint on Subjects.customersChanged: these customers changed outside the event flow (import, erasure). */
export interface CustomersChanged {
  ids: string[];
}

/** Hint on Subjects.campaignsChanged: a campaign was applied or changed state; decision replicas reload. */
export interface CampaignsChanged {
  id: string;
  version?: number;
}

/**
 * The payload each subject carries: publishing a wrong one is a compile error (Publisher, NatsClient).
 * Builders in Subjects return template literal types, so `Subjects.event(p, type)` is known to carry an
 * EventsMessage (sealed, or an AcceptedEvent in clear). Inbound (mkt.in.*) and DLQ subjects carry raw bytes as received.
 */
export type PayloadOf<S extends string> = S extends `mkt.in.${string}`
  ? Uint8Array | object
  : S extends `mkt.events.${string}`
    ? EventsMessage
    : S extends `mkt.enriched.${string}`
      ? EnrichedMessage
      : S extends `mkt.offers.${string}`
        ? OfferMessage
        : S extends `mkt.decisions.${string}`
          ? DecisionRecord
          : S extends `mkt.dlq.${DlqStage}` | 'mkt.dlq.replayed'
            ? Uint8Array | object
            : S extends 'mkt.ctl.customers.changed'
              ? CustomersChanged
              : S extends 'mkt.ctl.campaigns.changed'
                ? CampaignsChanged
                : S extends `mkt.ctl.lag.${string}`
                  ? LagReport
                  : S extends 'mkt.rpc.context.get'
                    ? ContextRequestDto
                    : never;

/** The reply of each request/reply subject. */
export type ReplyOf<S extends string> = S extends `mkt.in.${string}`
  ? IngestReply
  : S extends 'mkt.rpc.context.get'
    ? ({ ok: true } & Record<string, unknown>) | ErrorReply
    : never;

/** Subjects answered with a reply. */
export type RequestSubject = `mkt.in.${string}` | 'mkt.rpc.context.get';
