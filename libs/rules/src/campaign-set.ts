import type { AcceptedEvent, CandidateLoss } from '@nunchi/contracts';
import { CampaignInvalidError } from './campaign-invalid.error.js';
import { CelContext, CelCustomer, CelEvent, CelNow, type CelVars } from './cel-environment.js';
import type { CompiledExpression, GuardKey } from './cel-expression.js';
import type { CompiledCampaign } from './compile-campaign.js';
import type { Candidate, CustomerUsage, DecisionInput, EvaluateOptions, Evaluation } from './decision.types.js';
import { isHeldOut } from './holdout.js';
import { addInputs, describeInputs, errorSummary } from './inputs.js';
import { MS_PER_DAY, isoOfDay, utcOffsetMs, weekdayOfDay } from './local-time.js';
import { describeLocal, inSchedule } from './schedule.js';

export interface CampaignSetOptions {
  /** global contact policy: offers of all campaigns per customer per day; @default unlimited */
  maxOffersPerCustomerPerDay?: number;
  /**
   * Index campaigns by the guard found in their audience/condition (e.g. `'beer' in event.categories`,
   * `customer.region == 'Bundang'`), on top of the trigger index. @default true
   */
  guardIndex?: boolean;
}

interface Entry {
  readonly c: CompiledCampaign;
  /** evaluation epoch in which the entry was last gathered (dedupes multi-valued guard hits) */
  mark: number;
}

interface GuardBucket {
  readonly key: GuardKey;
  readonly byValue: Map<string, Entry[]>;
}

/** Campaigns sharing one (type, channel|*, store|*) trigger slot. */
interface Bucket {
  readonly unguarded: Entry[];
  readonly guarded: GuardBucket[];
}

const ANY = '\u0000*';

/** Per-zone activation cache of one evaluation: most campaigns share a zone. */
interface ZoneVars {
  tz: string;
  offsetMs: number;
  vars: CelVars;
}

/**
 * An immutable snapshot of the active campaigns: one event is decided against one consistent set.
 * Build a new set when campaigns change (cheap: compiled campaigns are reused).
 *
 * Index: type → channel (or any) → store (or any) → bucket; a bucket splits its campaigns by their
 * guard (the most selective fact their audience/condition requires) so that an event only reaches
 * campaigns that it triggers and whose guard it satisfies. Schedule and caps are checked before any
 * CEL runs.
 */
export class CampaignSet {
  /** number of active campaigns */
  readonly size: number;
  /** campaign id → version of every active campaign */
  readonly versions: Readonly<Record<string, number>>;
  readonly maxOffersPerCustomerPerDay: number;
  readonly #entries: readonly Entry[];
  readonly #byId: ReadonlyMap<string, CompiledCampaign>;
  readonly #index = new Map<string, Map<string, Map<string, Bucket>>>();
  #epoch = 0;

  constructor(campaigns: readonly CompiledCampaign[], options: CampaignSetOptions = {}) {
    this.maxOffersPerCustomerPerDay = options.maxOffersPerCustomerPerDay ?? Infinity;
    const byId = new Map<string, CompiledCampaign>();
    const entries: Entry[] = [];
    const versions: Record<string, number> = {};
    for (const c of campaigns) {
      if (byId.has(c.id)) throw new CampaignInvalidError([{ path: 'id', message: `campaign "${c.id}" is in the set twice` }], c.id);
      byId.set(c.id, c);
      if (c.state !== 'active') continue;
      const entry: Entry = { c, mark: 0 };
      entries.push(entry);
      versions[c.id] = c.version;
      for (const type of c.trigger.types) {
        for (const channel of c.trigger.channels ?? [ANY]) {
          for (const store of c.trigger.stores ?? [ANY]) this.#add(type, channel, store, entry, options.guardIndex !== false);
        }
      }
    }
    this.#entries = entries;
    this.#byId = byId;
    this.size = entries.length;
    this.versions = Object.freeze(versions);
  }

  #add(type: string, channel: string, store: string, entry: Entry, useGuard: boolean): void {
    let byChannel = this.#index.get(type);
    if (!byChannel) this.#index.set(type, (byChannel = new Map<string, Map<string, Bucket>>()));
    let byStore = byChannel.get(channel);
    if (!byStore) byChannel.set(channel, (byStore = new Map<string, Bucket>()));
    let bucket = byStore.get(store);
    if (!bucket) byStore.set(store, (bucket = { unguarded: [], guarded: [] }));
    const guard = useGuard ? entry.c.guard : undefined;
    if (!guard) {
      bucket.unguarded.push(entry);
      return;
    }
    let g = bucket.guarded.find((x) => x.key === guard.key);
    if (!g) bucket.guarded.push((g = { key: guard.key, byValue: new Map() }));
    for (const v of guard.values) {
      const list = g.byValue.get(v);
      if (list) list.push(entry);
      else g.byValue.set(v, [entry]);
    }
  }

  /** A campaign of the set by id (any state). */
  get(id: string): CompiledCampaign | undefined {
    return this.#byId.get(id);
  }

  /** The active campaigns, in the order given. */
  campaigns(): CompiledCampaign[] {
    return this.#entries.map((e) => e.c);
  }

  /** Decide one event: which campaigns are eligible (best first) and why the others are not. */
  evaluate(input: DecisionInput, options: EvaluateOptions = {}): Evaluation {
    const event = input.event;
    const celEvent = new CelEvent(event);
    const customer = new CelCustomer(input.customer, event.customerId);
    const ctx = new CelContext(input.ctx);
    const exhaustive = options.exhaustive === true;

    const entries = exhaustive ? this.#entries : this.#gather(event, celEvent, customer);
    const candidates: Candidate[] = [];
    const losses: CandidateLoss[] = [];
    const campaignVersions = dictionary<number>();
    const usage = input.usage;

    if (usage.offersToday >= this.maxOffersPerCustomerPerDay) {
      const detail = `customer already has ${usage.offersToday} offer(s) today (limit ${this.maxOffersPerCustomerPerDay})`;
      for (const e of entries) {
        campaignVersions[e.c.id] = e.c.version;
        losses.push({ campaignId: e.c.id, campaignVersion: e.c.version, reason: 'contact_policy', detail });
      }
      return { candidates, losses, considered: entries.length, campaignVersions };
    }

    const nowMs = input.nowMs;
    let zone: ZoneVars | undefined;
    let otherZones: ZoneVars[] | undefined;

    for (let i = 0; i < entries.length; i++) {
      const c = entries[i].c;
      campaignVersions[c.id] = c.version;

      if (exhaustive && !triggers(c, event)) {
        losses.push(loss(c, 'not_triggered', notTriggeredDetail(c, event)));
        continue;
      }

      const tz = c.schedule.timezone;
      if (zone === undefined || zone.tz !== tz) {
        zone = otherZones?.find((z) => z.tz === tz);
        if (zone === undefined) {
          const offsetMs = utcOffsetMs(tz, nowMs);
          zone = { tz, offsetMs, vars: { event: celEvent, customer, ctx, now: nowOf(nowMs, offsetMs, tz) } };
          (otherZones ??= []).push(zone);
        }
      }
      const localMs = nowMs + zone.offsetMs;
      if (!inSchedule(c.schedule, localMs)) {
        losses.push(loss(c, 'outside_schedule', `now ${describeLocal(localMs, tz)}; schedule ${c.schedule.text}`));
        continue;
      }

      const capped = capDetail(c, usage, event.channel);
      if (capped !== undefined) {
        losses.push(loss(c, 'cap', capped));
        continue;
      }

      const vars = zone.vars;
      if (c.audience !== undefined) {
        const failed = check(c.audience, vars, 'audience');
        if (failed !== undefined) {
          losses.push(failed === ERROR ? errorLoss(c, 'audience', c.audience, vars) : loss(c, 'audience', failed));
          continue;
        }
      }
      if (c.condition !== undefined) {
        const failed = check(c.condition, vars, 'condition');
        if (failed !== undefined) {
          losses.push(failed === ERROR ? errorLoss(c, 'condition', c.condition, vars) : loss(c, 'condition', failed));
          continue;
        }
      }

      let chosen = -1;
      const offers = c.offers;
      for (let k = 0; k < offers.length; k++) {
        const when = offers[k].when;
        if (when === undefined || safeRun(when, vars) === true) {
          chosen = k;
          break;
        }
      }
      if (chosen < 0) {
        losses.push(loss(c, 'no_eligible_offer', offers.map((o) => `${o.id}: ${whenDetail(o.when!, vars)}`).join('; ')));
        continue;
      }
      for (let k = 0; k < chosen; k++) {
        const o = offers[k];
        losses.push({ campaignId: c.id, campaignVersion: c.version, offerId: o.id, reason: 'offer_ineligible', detail: whenDetail(o.when!, vars) });
      }
      candidates.push(candidateOf(c, chosen, vars, event.customerId));
    }

    if (candidates.length > 1) candidates.sort(compareCandidates);
    return { candidates, losses, considered: entries.length, campaignVersions };
  }

  #gather(event: AcceptedEvent, celEvent: CelEvent, customer: CelCustomer): Entry[] {
    const out: Entry[] = [];
    const byChannel = this.#index.get(event.type);
    if (!byChannel) return out;
    const epoch = ++this.#epoch;
    const store = event.storeId;
    for (let pass = 0; pass < 2; pass++) {
      const byStore = byChannel.get(pass === 0 ? event.channel : ANY);
      if (!byStore) continue;
      if (store !== undefined) {
        const b = byStore.get(store);
        if (b) collect(b, out, epoch, celEvent, customer);
      }
      const any = byStore.get(ANY);
      if (any) collect(any, out, epoch, celEvent, customer);
    }
    return out;
  }
}

function collect(b: Bucket, out: Entry[], epoch: number, ev: CelEvent, customer: CelCustomer): void {
  for (const e of b.unguarded) out.push(e);
  for (const g of b.guarded) {
    if (g.key === 'event.categories') {
      const cats = ev.categories;
      for (let i = 0; i < cats.length; i++) push(g.byValue.get(cats[i]), out, epoch);
    } else {
      push(g.byValue.get(scalarFact(g.key, ev, customer)), out, epoch);
    }
  }
}

function push(list: Entry[] | undefined, out: Entry[], epoch: number): void {
  if (!list) return;
  for (const e of list) {
    if (e.mark === epoch) continue;
    e.mark = epoch;
    out.push(e);
  }
}

function scalarFact(key: GuardKey, ev: CelEvent, customer: CelCustomer): string {
  switch (key) {
    case 'event.storeId':
      return ev.storeId;
    case 'customer.region':
      return customer.region;
    case 'customer.creditTier':
      return customer.creditTier;
    case 'customer.gender':
      return customer.gender;
    default:
      return '';
  }
}

/**
 * An empty object in V8's dictionary mode: adding many different keys (campaign ids) to fresh plain
 * objects would otherwise walk and grow hidden-class transition trees, about twice as slow.
 */
function dictionary<V>(): Record<string, V> {
  const o: Record<string, V> = { a: undefined as V, b: undefined as V };
  delete o.a;
  delete o.b;
  return o;
}

function nowOf(nowMs: number, offsetMs: number, tz: string): CelNow {
  const local = nowMs + offsetMs;
  const day = Math.floor(local / MS_PER_DAY);
  const minuteOfDay = Math.floor((local - day * MS_PER_DAY) / 60_000);
  return new CelNow(Math.floor(minuteOfDay / 60), minuteOfDay % 60, weekdayOfDay(day), dateOf(day), nowMs, tz);
}

let lastDay = NaN;
let lastDate = '';
function dateOf(day: number): string {
  if (day !== lastDay) {
    lastDay = day;
    lastDate = isoOfDay(day);
  }
  return lastDate;
}

function triggers(c: CompiledCampaign, e: AcceptedEvent): boolean {
  const t = c.trigger;
  return (
    t.types.includes(e.type) &&
    (t.channels === undefined || t.channels.includes(e.channel)) &&
    (t.stores === undefined || (e.storeId !== undefined && t.stores.includes(e.storeId)))
  );
}

function notTriggeredDetail(c: CompiledCampaign, e: AcceptedEvent): string {
  const t = c.trigger;
  if (!t.types.includes(e.type)) return `event type ${e.type} not in trigger.types [${t.types.join(', ')}]`;
  if (t.channels !== undefined && !t.channels.includes(e.channel)) return `channel ${e.channel} not in trigger.channels [${t.channels.join(', ')}]`;
  return `store ${e.storeId ?? '(none)'} not in trigger.stores [${(t.stores ?? []).join(', ')}]`;
}

function capDetail(c: CompiledCampaign, usage: CustomerUsage, channel: string): string | undefined {
  const caps = c.caps;
  if (caps.perCustomerPerDay !== undefined) {
    const n = usage.byCampaignToday[c.id] ?? 0;
    if (n >= caps.perCustomerPerDay) return `${n} offer(s) today, cap perCustomerPerDay ${caps.perCustomerPerDay}`;
  }
  if (caps.perCustomerLifetime !== undefined) {
    const n = usage.byCampaignLifetime[c.id] ?? 0;
    if (n >= caps.perCustomerLifetime) return `${n} offer(s) ever, cap perCustomerLifetime ${caps.perCustomerLifetime}`;
  }
  if (caps.perChannelPerDay !== undefined) {
    const n = usage.byChannelToday[c.id]?.[channel] ?? 0;
    if (n >= caps.perChannelPerDay) return `${n} offer(s) today on ${channel}, cap perChannelPerDay ${caps.perChannelPerDay}`;
  }
  return undefined;
}

const ERROR = '\u0000error';

/** undefined when the expression is true; else the loss detail (or ERROR when it threw). */
function check(expr: CompiledExpression, vars: CelVars, label: string): string | undefined {
  let r: unknown;
  try {
    r = expr.run(vars);
  } catch {
    return ERROR;
  }
  if (r === true) return undefined;
  return `${label} ${r === false ? 'false' : `not a bool (${typeof r})`}: ${describeInputs(expr, vars)}`;
}

function errorLoss(c: CompiledCampaign, label: string, expr: CompiledExpression, vars: CelVars): CandidateLoss {
  let message = '';
  try {
    expr.run(vars);
  } catch (e) {
    message = errorSummary(e);
  }
  return loss(c, 'error', `${label} failed: ${message}; ${describeInputs(expr, vars)}`);
}

function safeRun(expr: CompiledExpression, vars: CelVars): unknown {
  try {
    return expr.run(vars);
  } catch {
    return undefined;
  }
}

function whenDetail(when: CompiledExpression, vars: CelVars): string {
  try {
    const r = when.run(vars);
    return `when ${r === false ? 'false' : `not a bool`}: ${describeInputs(when, vars)}`;
  } catch (e) {
    return `when failed: ${errorSummary(e)}; ${describeInputs(when, vars)}`;
  }
}

function loss(c: CompiledCampaign, reason: CandidateLoss['reason'], detail: string): CandidateLoss {
  return { campaignId: c.id, campaignVersion: c.version, reason, detail };
}

function candidateOf(c: CompiledCampaign, chosen: number, vars: CelVars, customerId: string): Candidate {
  const o = c.offers[chosen];
  const inputs: Record<string, unknown> = {};
  if (c.audience) addInputs(inputs, c.audience.paths, vars);
  if (c.condition) addInputs(inputs, c.condition.paths, vars);
  if (o.when) addInputs(inputs, o.when.paths, vars);
  return {
    campaignId: c.id,
    campaignVersion: c.version,
    offer: { id: o.id, title: o.title, value: o.value, cost: o.cost },
    priority: c.priority,
    expectedValue: o.expectedValue,
    holdout: isHeldOut(c.id, customerId, c.holdoutPercent),
    budget: c.budget,
    caps: c.caps,
    inputs,
  };
}

/** Arbitration: priority desc, expected value desc, campaign id asc (code-unit order). */
export function compareCandidates(a: Candidate, b: Candidate): number {
  if (a.priority !== b.priority) return b.priority - a.priority;
  if (a.expectedValue !== b.expectedValue) return b.expectedValue - a.expectedValue;
  return a.campaignId < b.campaignId ? -1 : a.campaignId > b.campaignId ? 1 : 0;
}

/**
 * The `lower_rank` losses of the candidates ranked after the one the service made the offer for
 * (index `winner` in evaluation.candidates). Candidates before it lost elsewhere (e.g. budget), which
 * the service records itself.
 */
export function lowerRankLosses(evaluation: Evaluation, winner: number): CandidateLoss[] {
  const w = evaluation.candidates[winner];
  if (!w) return [];
  return evaluation.candidates.slice(winner + 1).map((c) => ({
    campaignId: c.campaignId,
    campaignVersion: c.campaignVersion,
    offerId: c.offer.id,
    reason: 'lower_rank' as const,
    detail:
      c.priority !== w.priority
        ? `priority ${c.priority} < ${w.priority} (${w.campaignId})`
        : c.expectedValue !== w.expectedValue
          ? `expected value ${c.expectedValue} < ${w.expectedValue} (${w.campaignId}), same priority`
          : `tie with ${w.campaignId} broken by campaign id`,
  }));
}
