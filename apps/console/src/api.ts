import { useCallback, useEffect, useRef, useState } from 'react';

/**
 * The console's data layer: the analytics service's HTTP APIs as the console reads them. Types name only
 * what the console uses; fields the statistics do not have yet are optional, and the views in
 * stats-view.ts decide what is shown when they are absent (never a made-up number).
 */

export interface ProblemDetail {
  path: string;
  message: string;
}

/** An API's refusal, in the shape of every Nunchi API: {ok:false, error:{code, message, details}}. */
export class ApiFailure extends Error {
  override readonly name = 'ApiFailure';
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: ProblemDetail[],
  ) {
    super(message);
  }
}

/** Who makes changes, for the audit trail (unverified until authentication exists). */
const ACTOR = 'console';

export async function call<T>(method: string, path: string, body?: unknown): Promise<T> {
  const response = await fetch(`/v1${path}`, {
    method,
    headers: {
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      'x-nunchi-actor': ACTOR,
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  const json: unknown = text ? JSON.parse(text) : undefined;
  if (!response.ok) {
    const error = (
      json as { error?: { code?: string; message?: string; details?: ProblemDetail[] } } | undefined
    )?.error;
    throw new ApiFailure(
      response.status,
      error?.code ?? 'HTTP_ERROR',
      error?.message ?? `${response.status} ${response.statusText}`,
      error?.details ?? [],
    );
  }
  return json as T;
}

// ---- GET /v1/stats ---------------------------------------------------------------------------------------

export interface GroupStats {
  customers: number;
  converted: number;
  /** 0..1 */
  rate: number;
}

/** An interval around an estimate, as the statistics may give it (e.g. an always-valid confidence sequence). */
export interface Interval {
  lower: number;
  upper: number;
  /** e.g. 0.95 */
  level?: number;
}

/** A lift with its intervals (GET /v1/stats: docs/analytics.md). */
export interface LiftFigure {
  relative?: number | null;
  absolute?: number | null;
  interval?: Interval;
  relativeInterval?: Interval | null;
}

export interface CampaignStats {
  campaignId: string;
  decisions: number;
  offers: number;
  control: number;
  late: number;
  responses?: { accepted: number; redeemed: number; dismissed: number };
  valueSent?: number;
  treatment?: GroupStats;
  holdout?: GroupStats;
  /** today: relative lift as a number; later an object with an interval (stats-view.ts reads both) */
  lift?: number | null | LiftFigure;
  liftInterval?: Interval;
  /** winsorised revenue per customer: the same shape as `lift` */
  revenueLift?: LiftFigure | null;
  /** sample-ratio check of the holdout split */
  sampleRatio?: {
    expectedHoldoutShare: number;
    observedHoldoutShare: number | null;
    pValue: number;
    mismatch: boolean;
  };
  warnings?: Array<{ code: string; message: string }>;
  conversions?: number;
  /** purchases within the attribution window after offer and control decisions, major currency unit */
  revenue?: number;
  /** per offer (alternative), when the statistics have it */
  byOffer?:
    Array<{ offerId: string; offers: number; [k: string]: unknown }> | Record<string, { offers: number }>;
  /** per local day, when the statistics have it (GET /v1/stats/campaigns/:id) */
  days?: Array<{
    day: string;
    decisions?: number;
    offers: number;
    control?: number;
    late?: number;
    conversions?: number;
  }>;
  /** the funnel, when the statistics have it */
  funnel?: { triggered?: number; audience?: number; condition?: number; caps?: number; offered?: number };
}

export interface StatsSnapshot {
  events: { total: number; byType: Record<string, number>; byChannel: Record<string, number> };
  campaigns: CampaignStats[];
}

// ---- the campaigns API (docs/campaigns.md, "HTTP API") ---------------------------------------------------

export interface CampaignListing {
  campaignId: string;
  name: string;
  status: string;
  version?: number;
  state?: string;
  draft?: { revision: number; valid?: boolean; problems?: number };
  budget: { offers: number; cost: number; maxOffers?: number; maxCost?: number };
}

export interface OfferDefinition {
  id: string;
  title: string;
  value: number;
  cost?: number;
  when?: string;
}

export interface CampaignDetail {
  campaignId: string;
  status: string;
  actions: string[];
  current?: {
    version: number;
    state: string;
    definition: { name?: string; offers?: OfferDefinition[]; holdoutPercent?: number };
    yaml: string;
  };
  draft?: { revision: number; source: string; baseVersion?: number; problems: ProblemDetail[] };
  versions: Array<{ version: number; state: string; appliedAt: string }>;
}

export interface DraftSaved {
  campaignId: string;
  revision: number;
  problems: ProblemDetail[];
}

export interface ValidationResult {
  valid: boolean;
  problems: ProblemDetail[];
  text: string;
}

export interface TestReport {
  tested: string;
  lines: string[];
}

export interface SimulationJob {
  id: string;
  status: 'running' | 'done' | 'failed' | 'cancelled';
  progress?: { phase: string; done: number; total: number; waitingForLiveTraffic?: boolean };
  result?: { report: Record<string, unknown>; decisionsWritten: number };
  error?: string;
}

export interface ChangeResult {
  campaignId: string;
  version: number;
  status: string;
}

export const campaignsApi = {
  list: () => call<{ campaigns: CampaignListing[] }>('GET', '/campaigns'),
  get: (id: string) => call<CampaignDetail>('GET', `/campaigns/${encodeURIComponent(id)}`),
  create: (source: string) => call<DraftSaved>('POST', '/campaigns', { source }),
  saveDraft: (id: string, source: string, revision?: number) =>
    call<DraftSaved>('PUT', `/campaigns/${encodeURIComponent(id)}/draft`, { source, revision }),
  validate: (source: string) => call<ValidationResult>('POST', '/campaigns/validate', { source }),
  test: (id: string, event: Record<string, unknown>, customerId: string) =>
    call<TestReport>('POST', `/campaigns/${encodeURIComponent(id)}/test`, { event, customerId }),
  simulate: (id: string, from?: string, to?: string) =>
    call<SimulationJob>('POST', `/campaigns/${encodeURIComponent(id)}/simulations`, {
      from: from || undefined,
      to: to || undefined,
    }),
  simulation: (sid: string) => call<SimulationJob>('GET', `/simulations/${encodeURIComponent(sid)}`),
  activate: (id: string, revision?: number) =>
    call<ChangeResult>('POST', `/campaigns/${encodeURIComponent(id)}/activate`, { revision }),
};

// ---- the console's own API (apps/analytics/src/console) --------------------------------------------------

export interface DlqEntry {
  seq: number;
  stage: string;
  subject: string;
  reason: string;
  at: string;
  size: number;
  preview: string;
  replayOf?: number;
}

export interface DecisionView {
  decisionId: string;
  eventId: string;
  outcome: 'offer' | 'control' | 'late' | 'none';
  campaignId?: string;
  campaignVersion?: number;
  offerId?: string;
  title?: string;
  channel: string;
  decidedAt: string;
  latencyMs: number;
  traceId: string;
  traceUrl?: string;
  explanation: string[];
}

export interface CustomerPage {
  customerId: string;
  context: {
    status: number;
    body: {
      profile?: Record<string, unknown> | null;
      ctx?: {
        recent?: Array<{ id: string; type: string; channel: string; occurredAt: string; amount?: number }>;
      } & Record<string, unknown>;
      error?: { message?: string };
    } | null;
  };
  decisions: DecisionView[];
}

export interface LivePoint {
  atMs: number;
  eventsPerSecond: number;
  campaigns: Record<string, { decisions: number; offers: number; control: number; late: number }>;
}

export interface LiveFigures {
  atMs: number;
  windowSeconds: number;
  eventsPerSecond: { total: number; byChannel: Record<string, number> };
  eventsTotal: Record<string, number>;
  eventToOfferMs: { p50: number; p99: number; count: number } | null;
  decisions: { offers: number; control: number; late: number };
  dlq: { total: number; byStage: Record<string, number> } | null;
  series: LivePoint[];
}

export const consoleApi = {
  dlq: (stage?: string) =>
    call<{ counts: Record<string, number>; entries: DlqEntry[]; scanned: number }>(
      'GET',
      `/console/dlq${stage ? `?stage=${encodeURIComponent(stage)}` : ''}`,
    ),
  customer: (id: string) => call<CustomerPage>('GET', `/console/customers/${encodeURIComponent(id)}`),
  stats: () => call<StatsSnapshot>('GET', '/stats'),
  /** one campaign's figures with per offer, per day and per hour (404 for an unknown campaign) */
  campaignStats: (id: string) => call<CampaignStats>('GET', `/stats/campaigns/${encodeURIComponent(id)}`),
};

// ---- hooks -----------------------------------------------------------------------------------------------

export interface Loaded<T> {
  data?: T;
  error?: Error;
  loading: boolean;
  reload(): void;
}

/** Loads once (and again when `key` changes, or every `pollMs` when given). */
export function useLoad<T>(load: () => Promise<T>, key: string, pollMs?: number): Loaded<T> {
  const [state, setState] = useState<{ data?: T; error?: Error; loading: boolean }>({ loading: true });
  const [tick, setTick] = useState(0);
  const loadRef = useRef(load);
  loadRef.current = load;
  useEffect(() => {
    let cancelled = false;
    const run = () =>
      loadRef.current().then(
        (data) => !cancelled && setState({ data, loading: false }),
        (error: Error) => !cancelled && setState((s) => ({ ...s, error, loading: false })),
      );
    void run();
    const timer = pollMs ? setInterval(() => void run(), pollMs) : undefined;
    return () => {
      cancelled = true;
      if (timer) clearInterval(timer);
    };
  }, [key, pollMs, tick]);
  const reload = useCallback(() => setTick((n) => n + 1), []);
  return { ...state, reload };
}

/** The live figures from the service's server-sent events; the series grows as points arrive. */
export function useLive(): { figures?: LiveFigures; connected: boolean } {
  const [figures, setFigures] = useState<LiveFigures>();
  const [connected, setConnected] = useState(false);
  useEffect(() => {
    const source = new EventSource('/v1/console/live');
    source.onopen = () => setConnected(true);
    source.onerror = () => setConnected(false);
    source.onmessage = (message: MessageEvent<string>) => {
      const next = JSON.parse(message.data) as LiveFigures;
      setConnected(true);
      setFigures((previous) => {
        if (!previous || next.series.length > 1) return next;
        const known = previous.series.at(-1)?.atMs ?? 0;
        const fresh = next.series.filter((p) => p.atMs > known);
        const since = next.atMs - 10 * 60_000;
        return { ...next, series: [...previous.series, ...fresh].filter((p) => p.atMs >= since) };
      });
    };
    return () => source.close();
  }, []);
  return { figures, connected };
}
