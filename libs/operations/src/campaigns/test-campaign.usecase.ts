import {
  buildSnapshot,
  foldEvent,
  foldIntoClosedDay,
  localDay,
  localDayRange,
  openContext,
} from '@nunchi/context-model';
import {
  toAcceptedEvent,
  validateEvent,
  type AcceptedEvent,
  type ContextSnapshot,
  type CustomerProfile,
} from '@nunchi/contracts';
import {
  CampaignSet,
  EMPTY_PATTERN_STATE,
  compareEvents,
  compileCampaign,
  foldPatterns,
  explain,
  parseCampaign,
  usageOf,
  type Evaluation,
  type StatefulPattern,
} from '@nunchi/rules';
import type { CampaignPorts } from './ports.js';

export interface CampaignTestInput {
  /** the campaign as YAML or JSON text: a file, a draft, or a stored version */
  source: string;
  /** the version it is tested as; default: the one it would get if activated now */
  version?: number;
  /** the event as an adapter sends it (its customer reference is replaced by customerId) */
  event: unknown;
  customerId: string;
  /** arbitrate against the live campaigns too (the tested campaign replaces its stored version) */
  withLive?: boolean;
}

export interface CampaignTestReport {
  campaignId: string;
  version: number;
  evaluation: Evaluation;
  /** what the explanation says, line by line */
  lines: string[];
}

/**
 * A dry run: validates and compiles the campaign, reads the customer's profile, context and caps from
 * Cassandra (the source of truth; the context service's hot tier is only a cache of it), folds the event
 * into the day's context exactly as the context service would, and decides with every campaign's reason.
 * Reads only: nothing is sent, nothing is written, no budget or cap is claimed.
 */
export class TestCampaign {
  constructor(private readonly ports: CampaignPorts) {}

  async run(input: CampaignTestInput): Promise<CampaignTestReport> {
    const tz = this.ports.domain.timeZone;
    const definition = parseCampaign(input.source, { timeZone: tz });
    const nowMs = this.ports.now();
    const event = toAccepted(input.event, input.customerId, nowMs);
    const { campaigns, decisions } = this.ports;
    const [stored, latest] = await Promise.all([
      input.withLive ? campaigns.current() : Promise.resolve([]),
      campaigns.latest(definition.id),
    ]);
    // Tested as if active, with the version it would get if activated now (or the version it is).
    const version = input.version ?? (latest?.version ?? 0) + 1;
    const tested = compileCampaign({ ...definition, state: 'active' }, version);
    const live = stored
      .filter((s) => s.campaignId !== definition.id && s.state === 'active')
      .map((s) => compileCampaign(parseCampaign(JSON.parse(s.definition) as unknown), s.version));
    const set = new CampaignSet([tested, ...live], {
      maxOffersPerCustomerPerDay: this.ports.domain.maxOffersPerCustomerPerDay,
      contactPolicy: this.ports.domain.contactPolicy,
      timeZone: this.ports.domain.timeZone,
    });

    const [{ customer, ctx, months }, ledger] = await Promise.all([
      this.contextWithEvent(event, nowMs),
      decisions.contacts(event.customerId),
    ]);
    const patterns =
      set.statefulPatterns.length > 0
        ? await this.patternMatches(event, set.statefulPatterns, months)
        : undefined;
    const evaluation = set.evaluate(
      {
        event,
        customer,
        ctx,
        nowMs: event.occurredAtMs,
        usage: usageOf(ledger, localDay(event.occurredAtMs, tz)),
        patterns,
      },
      { exhaustive: true },
    );

    const lines = [
      `dry run of ${definition.id} (${input.version === undefined ? 'would be ' : ''}v${version}) for customer ${event.customerId}${customer ? '' : ' (no profile: rules see defaults)'}, event ${event.id} (${event.type} on ${event.channel})`,
    ];
    if (definition.state && definition.state !== 'active')
      lines.push(`note: the campaign says state ${definition.state}; tested as if active`);
    lines.push(...explain(evaluation));
    for (const c of evaluation.candidates) {
      if (c.budget.maxOffers === undefined && c.budget.maxCost === undefined) continue;
      const used = await decisions.budgetUsage(c.campaignId);
      const limits = [
        c.budget.maxOffers !== undefined ? `${used.offers}/${c.budget.maxOffers} offers` : '',
        c.budget.maxCost !== undefined ? `${used.cost}/${c.budget.maxCost} cost` : '',
      ].filter(Boolean);
      lines.push(`budget of ${c.campaignId}: ${limits.join(', ')} used`);
    }
    lines.push('nothing was sent or written');
    return { campaignId: definition.id, version, evaluation, lines };
  }

  /**
   * The stateful patterns (sequence, count; docs/patterns.md) this event would complete, as if their
   * campaigns had been active over the longest window among them: the customer's stored events of that
   * window folded in replay order (foldPatterns), then the event. Exact for a draft; for a campaign already
   * live, its stored state may differ where an earlier match consumed a partial one.
   */
  private async patternMatches(
    event: AcceptedEvent,
    patterns: readonly StatefulPattern[],
    months: readonly string[],
  ): Promise<readonly string[]> {
    // an absence completes on a timer, never on the tested event
    patterns = patterns.filter((p) => p.kind !== 'absence');
    if (patterns.length === 0) return [];
    const windowMs = Math.max(...patterns.map((p) => p.withinMs));
    const fromMs = event.occurredAtMs - windowMs;
    const fromMonth = localDay(fromMs, this.ports.domain.timeZone).slice(0, 7);
    const stored = await this.ports.history.eventsFrom(
      event.customerId,
      months.filter((m) => m >= fromMonth),
      fromMs,
    );
    let state = EMPTY_PATTERN_STATE;
    for (const e of stored
      .filter((x) => x.id !== event.id && x.occurredAtMs <= event.occurredAtMs)
      .sort(compareEvents))
      state = foldPatterns(state, e, patterns).state;
    return foldPatterns(state, event, patterns).matched;
  }

  /**
   * Profile and context snapshot as the context service would hand them to the decision service with this
   * event: the stored history folded exactly as live (libs/context-model foldEvent), then the event.
   */
  private async contextWithEvent(
    event: AcceptedEvent,
    nowMs: number,
  ): Promise<{ customer: CustomerProfile | null; ctx: ContextSnapshot; months: string[] }> {
    const { history, customers } = this.ports;
    const timeZone = this.ports.domain.timeZone;
    const options = { timeZone, nowMs };
    const [profile, stored] = await Promise.all([
      customers.get(event.customerId),
      history.storedHistory(event.customerId, options),
    ]);
    let result = foldEvent(openContext({ profile, ...stored, timeZone }), event, options);
    if (result.kind === 'closed-day') {
      const range = localDayRange(result.day, timeZone);
      const dayEvents = await history.eventsOfDay(event.customerId, result.day, range.startMs, range.endMs);
      result = foldIntoClosedDay(result.context, event, dayEvents, options);
    }
    const folded = result.context;
    const ctx = buildSnapshot({
      customerId: event.customerId,
      rows: folded.rows,
      recent: folded.recent,
      nowMs,
      timeZone,
      currentStoreId: event.storeId,
    });
    return { customer: folded.profile, ctx, months: stored.months };
  }
}

/** The event validated as ingestion would (throws ContractError by path), for the given customer. */
function toAccepted(raw: unknown, customerId: string, nowMs: number): AcceptedEvent {
  const body =
    raw !== null && typeof raw === 'object' && !Array.isArray(raw) ? (raw as Record<string, unknown>) : {};
  const envelope = validateEvent({ ...body, customer: { id: customerId } }, { nowMs });
  return toAcceptedEvent(envelope, customerId, nowMs);
}
