import {
  OMITTABLE_CONTEXT_PARTS,
  type KeyedContextPart,
  type CandidateLoss,
  type ContactPolicy,
  type OmittableContextPart,
} from '@nunchi/contracts/core';
import type { AcceptedEvent } from '@nunchi/contracts';
import { CampaignInvalidError } from './campaign-invalid.error.js';
import { contactRefusal } from './contact-policy.js';
import { CelContext, CelCustomer, CelEvent, CelNow, omittedDetail, type CelVars } from './cel-environment.js';
import type { CompiledExpression, Guard, GuardKey } from './cel-expression.js';
import type { CompiledCampaign } from './compile-campaign.js';
import type {
  Candidate,
  CustomerUsage,
  DecisionInput,
  EvaluateOptions,
  Evaluation,
} from './decision.types.js';
import { isHeldOut } from './holdout.js';
import { addInputs, describeInputs, errorSummary } from './inputs.js';
import { MS_PER_DAY, isoOfDay, utcOffsetMs, weekdayOfDay } from './local-time.js';
import { describeLocal, inSchedule, type ScheduleFields } from './schedule.js';
import { isStateful, type CompiledPattern, type StatefulPattern } from './patterns/compile-pattern.js';
import { thresholdCrossing } from './patterns/threshold.js';
import { ABSENCE_EVENT_TYPE } from './patterns/pattern.js';

export interface CampaignSetOptions {
  /** global contact policy: offers of all campaigns per customer per day; @default unlimited */
  maxOffersPerCustomerPerDay?: number;
  /** consent per channel and quiet hours (contactRefusal), in `timeZone`; @default none */
  contactPolicy?: ContactPolicy;
  /** the business IANA time zone the quiet hours are in; required with quiet hours */
  timeZone?: string;
  /**
   * Index campaigns by the guard found in their audience/condition (e.g. `'beer' in event.categories`,
   * `customer.region == 'Bundang'`), on top of the trigger index. @default true
   */
  guardIndex?: boolean;
}

/**
 * A campaign as the hot loop sees it: what every considered campaign needs is copied inline here, so
 * that one evaluation touches one small object per campaign instead of a chain of them (with 10,000
 * campaigns the loop is bound by memory, not arithmetic).
 */
interface Entry extends ScheduleFields {
  readonly c: CompiledCampaign;
  readonly id: string;
  readonly version: number;
  readonly tz: string;
  readonly scheduleText: string;
  readonly audience: CompiledExpression['evaluate'] | undefined;
  readonly condition: CompiledExpression['evaluate'] | undefined;
  /** any cap set */
  readonly capped: boolean;
  /** evaluation epoch in which the entry was last gathered (dedupes multi-valued guard hits) */
  mark: number;
  /** the campaign's guards besides the one it is indexed by: checked when the index hits */
  readonly checks: readonly Guard[];
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
  /** "now Tue 2026-11-24 09:30 Asia/Seoul", built for the first outside_schedule loss */
  nowText: string | undefined;
  /** formatted inputs of loss details, built on demand */
  memo: Map<string, string> | undefined;
  /** plain input values of candidates, built on demand */
  values: Map<string, unknown> | undefined;
}

/**
 * An immutable snapshot of the active campaigns: one event is decided against one consistent set.
 * Build a new set when campaigns change (cheap: compiled campaigns are reused).
 *
 * Index: type → channel (or any) → store (or any) → bucket; a bucket keys its campaigns by one guard
 * (the most selective fact their audience/condition requires, e.g. `'beer' in event.categories`) and
 * checks their other guards on a hit, so an event only reaches — "considers" — the campaigns it
 * triggers and whose guards it satisfies. Schedule and caps are checked before any expression runs.
 */
export class CampaignSet {
  /** number of active campaigns */
  readonly size: number;
  /** campaign id → version of every active campaign */
  readonly versions: Readonly<Record<string, number>>;
  readonly maxOffersPerCustomerPerDay: number;
  /**
   * the stateful patterns (sequence, count, absence) of the active campaigns: what the context fold keeps
   * partial matches for (foldPatterns). Empty — and no pattern work at all per event — when no active
   * campaign has one.
   */
  readonly statefulPatterns: readonly StatefulPattern[];
  /**
   * the omittable parts of the context (OMITTABLE_CONTEXT_PARTS) some active campaign reads — in an
   * expression, or `responses` for suppressAfterDismissDays: what context puts on ENRICHED; the others are left
   * out (ContextSnapshot.omitted), and reading one anyway is an evaluation error, never a zero
   */
  readonly contextPartsRead: ReadonlySet<OmittableContextPart>;
  /**
   * of those, the maps by name (store, category, channel) every active campaign reads only by literal names,
   * with the names: ENRICHED carries just those entries (ContextSnapshot.carriedKeys)
   */
  readonly contextKeysRead: ReadonlyMap<KeyedContextPart, ReadonlySet<string>>;
  readonly #contactPolicy: ContactPolicy | undefined;
  readonly #timeZone: string;
  readonly #entries: readonly Entry[];
  readonly #byId: ReadonlyMap<string, CompiledCampaign>;
  readonly #index = new Map<string, Map<string, Map<string, Bucket>>>();
  #epoch = 0;

  constructor(campaigns: readonly CompiledCampaign[], options: CampaignSetOptions = {}) {
    this.maxOffersPerCustomerPerDay = options.maxOffersPerCustomerPerDay ?? Infinity;
    const policy = options.contactPolicy;
    if (policy && Object.keys(policy.quietHours).length > 0 && options.timeZone === undefined)
      throw new RangeError('CampaignSetOptions: quiet hours need the business timeZone');
    this.#contactPolicy = policy;
    this.#timeZone = options.timeZone ?? 'UTC';
    const byId = new Map<string, CompiledCampaign>();
    const entries: Entry[] = [];
    const versions: Record<string, number> = {};
    for (const c of campaigns) {
      if (byId.has(c.id))
        throw new CampaignInvalidError(
          [{ path: 'id', message: `campaign "${c.id}" is in the set twice` }],
          c.id,
        );
      byId.set(c.id, c);
      if (c.state !== 'active') continue;
      const useGuards = options.guardIndex !== false;
      const entry: Entry = {
        c,
        id: c.id,
        version: c.version,
        tz: c.schedule.timezone,
        scheduleText: c.schedule.text,
        fromDay: c.schedule.fromDay,
        toDay: c.schedule.toDay,
        weekdayMask: c.schedule.weekdayMask,
        windows: c.schedule.windows,
        windowCount: c.schedule.windowCount,
        start0: c.schedule.start0,
        end0: c.schedule.end0,
        audience: c.audience?.evaluate,
        condition: c.condition?.evaluate,
        capped:
          c.caps.perCustomerPerDay !== undefined ||
          c.caps.perCustomerLifetime !== undefined ||
          c.caps.perChannelPerDay !== undefined,
        mark: 0,
        checks: useGuards
          ? c.guards.filter((g) => g.key !== c.guard?.key || g.values !== c.guard.values)
          : [],
      };
      entries.push(entry);
      versions[c.id] = c.version;
      for (const type of c.trigger.types) {
        for (const channel of c.trigger.channels ?? [ANY]) {
          for (const store of c.trigger.stores ?? [ANY]) this.#add(type, channel, store, entry, useGuards);
        }
      }
    }
    this.#entries = entries;
    this.statefulPatterns = Object.freeze(
      entries.flatMap((e) => (e.c.pattern && isStateful(e.c.pattern) ? [e.c.pattern] : [])),
    );
    this.contextPartsRead = contextPartsReadBy(entries.map((e) => e.c));
    this.contextKeysRead = contextKeysReadBy(entries.map((e) => e.c));
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

  /**
   * Does any active campaign's trigger (type, channel, store) take this event? Three map lookups, no CEL:
   * an event no trigger takes is not a decision at all (the decision service acks it and records nothing).
   */
  triggeredBy(event: Pick<AcceptedEvent, 'type' | 'channel' | 'storeId'>): boolean {
    const byChannel = this.#index.get(event.type);
    if (!byChannel) return false;
    for (const channel of [event.channel, ANY]) {
      const byStore = byChannel.get(channel);
      if (byStore && (byStore.has(ANY) || (event.storeId !== undefined && byStore.has(event.storeId))))
        return true;
    }
    return false;
  }

  /** Why the contact policy stops every offer of this event (consent, quiet hours), or undefined. */
  #contactRefusal(customer: DecisionInput['customer'], channel: string, nowMs: number): string | undefined {
    return (
      this.#contactPolicy && contactRefusal(this.#contactPolicy, customer, channel, nowMs, this.#timeZone)
    );
  }

  /**
   * Why the event does not complete the campaign's pattern, or undefined when it does. Stateful patterns
   * were matched by the context fold (input.patterns); a threshold is checked here, on the context.
   */
  #patternMiss(pattern: CompiledPattern, input: DecisionInput): string | undefined {
    if (pattern.kind === 'threshold') {
      const t = thresholdCrossing(pattern, input.event, input.ctx, this.#timeZone);
      return t.crossed
        ? undefined
        : `ctx.all.${pattern.window}.${pattern.measure} ${t.before} → ${t.after} does not cross ${pattern.crosses}`;
    }
    if (pattern.kind === 'absence')
      // the synthetic event of a fired timer names its campaign (fireAbsence)
      return input.event.type === (ABSENCE_EVENT_TYPE as string) &&
        input.event.payload.campaignId === pattern.campaignId
        ? undefined
        : 'not the absence timer of this campaign';
    if (input.patterns?.includes(pattern.campaignId)) return undefined;
    return `this event completes no ${pattern.kind} of the campaign's pattern`;
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
    const usage = input.usage;

    if (usage.offersToday >= this.maxOffersPerCustomerPerDay) {
      const detail = `customer already has ${usage.offersToday} offer(s) today (limit ${this.maxOffersPerCustomerPerDay})`;
      for (const e of entries) losses.push(loss(e, 'contact_policy', detail));
      return evaluationOf(candidates, losses, entries);
    }
    const refusal =
      entries.length === 0 ? undefined : this.#contactRefusal(input.customer, event.channel, input.nowMs);
    if (refusal !== undefined) {
      for (const e of entries) losses.push(loss(e, 'contact_policy', refusal));
      return evaluationOf(candidates, losses, entries);
    }

    const nowMs = input.nowMs;
    const flags = usageFlags(usage);
    let zone: ZoneVars | undefined;
    let otherZones: ZoneVars[] | undefined;

    for (let i = 0; i < entries.length; i++) {
      const e = entries[i];

      if (exhaustive && !triggers(e.c, event)) {
        losses.push(loss(e, 'not_triggered', notTriggeredDetail(e.c, event)));
        continue;
      }

      const tz = e.tz;
      if (zone === undefined || zone.tz !== tz) {
        zone = otherZones?.find((z) => z.tz === tz);
        if (zone === undefined) {
          const offsetMs = utcOffsetMs(tz, nowMs);
          zone = {
            tz,
            offsetMs,
            vars: { event: celEvent, customer, ctx, now: nowOf(nowMs, offsetMs, tz) },
            nowText: undefined,
            memo: undefined,
            values: undefined,
          };
          (otherZones ??= []).push(zone);
        }
      }
      const localMs = nowMs + zone.offsetMs;
      if (!inSchedule(e, localMs)) {
        zone.nowText ??= `now ${describeLocal(localMs, tz)}; schedule `;
        losses.push(loss(e, 'outside_schedule', zone.nowText + e.scheduleText));
        continue;
      }

      if (flags !== 0 && e.capped) {
        const capped = capDetail(e.c, usage, event.channel, flags);
        if (capped !== undefined) {
          losses.push(loss(e, 'cap', capped));
          continue;
        }
      }

      const suppressDays = e.c.caps.suppressAfterDismissDays;
      if (suppressDays !== undefined) {
        if (input.ctx.omitted?.includes('responses')) {
          // Enriched before context knew a campaign reading the responses (it just became active): no answer
          // rather than an offer the customer may have dismissed.
          losses.push(loss(e, 'error', omittedDetail('responses')));
          continue;
        }
        const since = input.ctx.responses?.[e.id]?.daysSinceDismissed ?? -1;
        if (since >= 0 && since < suppressDays) {
          losses.push(loss(e, 'cap', dismissedDetail(since, suppressDays)));
          continue;
        }
      }

      const pattern = e.c.pattern;
      if (pattern !== undefined) {
        const missed = this.#patternMiss(pattern, input);
        if (missed !== undefined) {
          losses.push(loss(e, 'pattern', missed));
          continue;
        }
      }

      const vars = zone.vars;
      if (e.audience !== undefined) {
        const r = attempt(e.audience, vars);
        if (r !== true) {
          losses.push(
            lossOf(e, 'audience', e.c.audience!, r, vars, (zone.memo ??= new Map<string, string>())),
          );
          continue;
        }
      }
      if (e.condition !== undefined) {
        const r = attempt(e.condition, vars);
        if (r !== true) {
          losses.push(
            lossOf(e, 'condition', e.c.condition!, r, vars, (zone.memo ??= new Map<string, string>())),
          );
          continue;
        }
      }

      const c = e.c;
      let chosen = -1;
      const offers = c.offers;
      for (let k = 0; k < offers.length; k++) {
        const when = offers[k].when;
        if (when === undefined || attempt(when.evaluate, vars) === true) {
          chosen = k;
          break;
        }
      }
      if (chosen < 0) {
        losses.push(
          loss(e, 'no_eligible_offer', offers.map((o) => `${o.id}: ${whenDetail(o.when!, vars)}`).join('; ')),
        );
        continue;
      }
      for (let k = 0; k < chosen; k++) {
        const o = offers[k];
        losses.push({
          campaignId: e.id,
          campaignVersion: e.version,
          offerId: o.id,
          reason: 'offer_ineligible',
          detail: whenDetail(o.when!, vars),
        });
      }
      candidates.push(
        candidateOf(c, chosen, vars, event.customerId, (zone.values ??= new Map<string, unknown>())),
      );
    }

    if (candidates.length > 1) candidates.sort(compareCandidates);
    return evaluationOf(candidates, losses, entries);
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
      for (let i = 0; i < cats.length; i++) push(g.byValue.get(cats[i]), out, epoch, ev, customer);
    } else {
      push(g.byValue.get(scalarFact(g.key, ev, customer)), out, epoch, ev, customer);
    }
  }
}

function push(
  list: Entry[] | undefined,
  out: Entry[],
  epoch: number,
  ev: CelEvent,
  customer: CelCustomer,
): void {
  if (!list) return;
  for (const e of list) {
    if (e.mark === epoch) continue;
    e.mark = epoch;
    if (e.checks.length === 0 || passes(e.checks, ev, customer)) out.push(e);
  }
}

/** Do the event's facts satisfy every guard? (A failed guard means audience or condition is false.) */
function passes(checks: readonly Guard[], ev: CelEvent, customer: CelCustomer): boolean {
  for (let i = 0; i < checks.length; i++) {
    const g = checks[i];
    if (g.key === 'event.categories') {
      let hit = false;
      for (const v of g.values) if (ev.categories.includes(v)) hit = true;
      if (!hit) return false;
    } else if (!g.values.includes(scalarFact(g.key, ev, customer))) return false;
  }
  return true;
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

/** The result; campaignVersions lists every considered campaign. */
function evaluationOf(
  candidates: Candidate[],
  losses: CandidateLoss[],
  entries: readonly Entry[],
): Evaluation {
  // A record in V8's dictionary mode from the start: thousands of distinct campaign ids as keys of
  // fresh plain objects would otherwise grow hidden-class transition trees.
  const campaignVersions: Record<string, number> = { a: 0, b: 0 };
  delete campaignVersions.a;
  delete campaignVersions.b;
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i];
    campaignVersions[e.id] = e.version;
  }
  return { candidates, losses, considered: entries.length, campaignVersions };
}

function nowOf(nowMs: number, offsetMs: number, tz: string): CelNow {
  const local = nowMs + offsetMs;
  const day = Math.floor(local / MS_PER_DAY);
  const minuteOfDay = Math.floor((local - day * MS_PER_DAY) / 60_000);
  return new CelNow(
    Math.floor(minuteOfDay / 60),
    minuteOfDay % 60,
    weekdayOfDay(day),
    dateOf(day),
    nowMs,
    tz,
  );
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
  if (t.channels !== undefined && !t.channels.includes(e.channel))
    return `channel ${e.channel} not in trigger.channels [${t.channels.join(', ')}]`;
  return `store ${e.storeId ?? '(none)'} not in trigger.stores [${(t.stores ?? []).join(', ')}]`;
}

/** Which usage records can bind a cap at all (caps are >= 1): skips lookups for fresh customers. */
function usageFlags(usage: CustomerUsage): number {
  return (
    (hasKeys(usage.byCampaignToday) || hasKeys(usage.byChannelToday) ? 1 : 0) |
    (hasKeys(usage.byCampaignLifetime) ? 2 : 0)
  );
}

function hasKeys(o: object): boolean {
  for (const _ in o) return true;
  return false;
}

function capDetail(
  c: CompiledCampaign,
  usage: CustomerUsage,
  channel: string,
  flags: number,
): string | undefined {
  const caps = c.caps;
  if ((flags & 1) === 0) {
    if ((flags & 2) === 0 || caps.perCustomerLifetime === undefined) return undefined;
    const n = usage.byCampaignLifetime[c.id] ?? 0;
    return n >= caps.perCustomerLifetime
      ? `${n} offer(s) ever, cap perCustomerLifetime ${caps.perCustomerLifetime}`
      : undefined;
  }
  if (caps.perCustomerPerDay !== undefined) {
    const n = usage.byCampaignToday[c.id] ?? 0;
    if (n >= caps.perCustomerPerDay)
      return `${n} offer(s) today, cap perCustomerPerDay ${caps.perCustomerPerDay}`;
  }
  if (caps.perCustomerLifetime !== undefined) {
    const n = usage.byCampaignLifetime[c.id] ?? 0;
    if (n >= caps.perCustomerLifetime)
      return `${n} offer(s) ever, cap perCustomerLifetime ${caps.perCustomerLifetime}`;
  }
  if (caps.perChannelPerDay !== undefined) {
    const n = usage.byChannelToday[c.id]?.[channel] ?? 0;
    if (n >= caps.perChannelPerDay)
      return `${n} offer(s) today on ${channel}, cap perChannelPerDay ${caps.perChannelPerDay}`;
  }
  return undefined;
}

function dismissedDetail(daysSince: number, suppressDays: number): string {
  const when = daysSince === 0 ? 'today' : `${daysSince} day(s) ago`;
  return `the customer dismissed this campaign's offer ${when}, suppressAfterDismissDays ${suppressDays}`;
}

/** A campaign's CEL expressions: audience, condition, and its offers' `when`, those it has. */
function expressionsOf(c: CompiledCampaign): CompiledExpression[] {
  return [c.audience, c.condition, ...c.offers.map((o) => o.when)].filter((e) => e !== undefined);
}

/** The omittable context parts these campaigns read (CampaignSet.contextPartsRead). */
export function contextPartsReadBy(campaigns: readonly CompiledCampaign[]): Set<OmittableContextPart> {
  const read = new Set<OmittableContextPart>();
  const omittable: ReadonlySet<string> = new Set(OMITTABLE_CONTEXT_PARTS);
  for (const c of campaigns) {
    for (const expression of expressionsOf(c))
      for (const field of expression.contextFields)
        if (field === '*') for (const part of OMITTABLE_CONTEXT_PARTS) read.add(part);
        else if (omittable.has(field)) read.add(field as OmittableContextPart);
    if (c.caps.suppressAfterDismissDays !== undefined) read.add('responses');
  }
  return read;
}

/**
 * The maps by name these campaigns read only by literal names, with the names (CampaignSet.contextKeysRead):
 * a map some expression reads whole (its size, its keys, a computed name, ctx itself) is not among them.
 */
export function contextKeysReadBy(
  campaigns: readonly CompiledCampaign[],
): Map<KeyedContextPart, Set<string>> {
  const keys = new Map<KeyedContextPart, Set<string>>();
  const whole = new Set<string>();
  for (const c of campaigns)
    for (const expression of expressionsOf(c))
      for (const field of expression.contextFields) {
        const names = expression.contextKeys.get(field as KeyedContextPart);
        if (!names) {
          whole.add(field);
          continue;
        }
        let all = keys.get(field as KeyedContextPart);
        if (!all) keys.set(field as KeyedContextPart, (all = new Set()));
        for (const name of names) all.add(name);
      }
  if (whole.has('*')) return new Map();
  for (const part of whole) keys.delete(part as KeyedContextPart);
  return keys;
}

const ERROR: unique symbol = Symbol('error');

/** The expression's value, or ERROR when it threw (the loss detail re-runs it for the message). */
function attempt(run: (vars: CelVars) => unknown, vars: CelVars): unknown {
  try {
    return run(vars);
  } catch {
    return ERROR;
  }
}

function lossOf(
  e: Entry,
  label: 'audience' | 'condition',
  expr: CompiledExpression,
  result: unknown,
  vars: CelVars,
  memo: Map<string, string>,
): CandidateLoss {
  if (result === ERROR) return loss(e, 'error', errorDetail(label, expr, vars));
  const what = result === false ? 'false' : `not a bool (${typeof result})`;
  return loss(e, label, `${label} ${what}: ${describeInputs(expr, vars, memo)}`);
}

function errorDetail(label: string, expr: CompiledExpression, vars: CelVars): string {
  let message = '';
  try {
    expr.run(vars);
  } catch (err) {
    message = errorSummary(err);
  }
  return `${label} failed: ${message}; ${describeInputs(expr, vars)}`;
}

function whenDetail(when: CompiledExpression, vars: CelVars): string {
  try {
    const r = when.evaluate(vars);
    return `when ${r === false ? 'false' : `not a bool`}: ${describeInputs(when, vars)}`;
  } catch (e) {
    return `when failed: ${errorSummary(e)}; ${describeInputs(when, vars)}`;
  }
}

function loss(e: Entry, reason: CandidateLoss['reason'], detail: string): CandidateLoss {
  return { campaignId: e.id, campaignVersion: e.version, reason, detail };
}

function candidateOf(
  c: CompiledCampaign,
  chosen: number,
  vars: CelVars,
  customerId: string,
  memo: Map<string, unknown>,
): Candidate {
  const o = c.offers[chosen];
  const inputs: Record<string, unknown> = {};
  if (c.audience) addInputs(inputs, c.audience.paths, vars, memo);
  if (c.condition) addInputs(inputs, c.condition.paths, vars, memo);
  if (o.when) addInputs(inputs, o.when.paths, vars, memo);
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
