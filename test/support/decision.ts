import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DeliverPolicy, jetstream } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { CustomerKeyRepository, decisionInputsOpener, type CqlClient } from '@nunchi/cassandra';
import { identityKeys, loadConfig } from '@nunchi/config';
import {
  decisionIdOf,
  OMITTABLE_CONTEXT_PARTS,
  type KeyedContextPart,
  type OmittableContextPart,
  Streams,
  type EventRef,
  Subjects,
  type DecisionRecord,
  type OfferMessage,
} from '@nunchi/contracts/core';
import { decodeJson, encodeJson } from '@nunchi/messaging';
import type { CampaignDefinition } from '@nunchi/rules';
import { startServices, type RunningServices } from '../../tools/services.js';
import { applyCampaign, setCampaignState } from '../../apps/cli/src/commands/campaigns.js';
import type { Resources } from '../../apps/cli/src/resources.js';
import { waitFor } from './harness.js';

/** Helpers of the decision end-to-end tests: campaigns as files, bursts of purchases, what came out. */

const dir = mkdtempSync(join(tmpdir(), 'nunchi-decision-'));

/** A campaign as a file (JSON is YAML), as an operator would apply it. */
export function campaignFile(definition: Partial<CampaignDefinition> & { id: string }): string {
  const full = {
    name: definition.id,
    trigger: { types: ['purchase'], channels: ['pos'] },
    offers: [{ id: 'thanks', title: 'Thank you', value: 1000 }],
    schedule: { timezone: 'Asia/Seoul' },
    ...definition,
  };
  const path = join(dir, `${definition.id}-${Math.random().toString(36).slice(2, 8)}.yaml`);
  writeFileSync(path, JSON.stringify(full, null, 2));
  return path;
}

/** A valid purchase envelope (amount in KRW), happening now. */
export function purchase(id: string, customerId: string, storeId: string, amount = 12_000, channel = 'pos') {
  return {
    id,
    type: 'purchase',
    channel,
    occurredAt: new Date().toISOString(),
    customer: { id: customerId },
    storeId,
    payload: {
      amount,
      currency: 'KRW',
      items: [{ sku: 'sku-1', category: 'snacks', quantity: 1, unitPrice: amount }],
    },
  };
}

/** Requests every event on its NATS door with `concurrency` requests in flight; fails on any rejection. */
export async function sendAll(
  nc: NatsConnection,
  events: Array<{ id: string; type: string; channel: string }>,
  concurrency = 32,
): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < events.length) {
      const e = events[next++];
      const reply = decodeJson(
        (await nc.request(Subjects.inbound(e.channel, e.type), encodeJson(e), { timeout: 15_000 })).data,
      ) as { ok: boolean };
      if (!reply.ok) throw new Error(`event ${e.id} rejected: ${JSON.stringify(reply)}`);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, events.length) }, worker));
}

/**
 * Waits until every event (channel and id) has its decision stored by id, and returns the records as the
 * decision API answers them: inputs and loss details opened with the customer's data key where they are sealed.
 */
export async function decisionsOf(
  cql: CqlClient,
  events: EventRef[],
  timeoutMs = 60_000,
): Promise<DecisionRecord[]> {
  const ids = events.map((e) => decisionIdOf(e));
  const found = new Map<string, DecisionRecord>();
  await waitFor(
    `${ids.length} decisions`,
    async () => {
      const missing = ids.filter((id) => !found.has(id));
      for (let i = 0; i < missing.length; i += 50) {
        const rows = (
          await cql.execute(
            'SELECT decision_id, record FROM decisions_by_id WHERE decision_id IN ?',
            [missing.slice(i, i + 50)],
            { prepare: true },
          )
        ).rows;
        for (const r of rows)
          found.set(r['decision_id'] as string, JSON.parse(r['record'] as string) as DecisionRecord);
      }
      return found.size === ids.length ? true : undefined;
    },
    timeoutMs,
  );
  const open = decisionInputsOpener(new CustomerKeyRepository(cql), identityKeys(loadConfig('cli')));
  return Promise.all(ids.map((id) => open(found.get(id)!)));
}

/** Every record on DECISIONS for one campaign (a replay of the stream, filtered by subject). */
export function decisionStream(nc: NatsConnection, campaignId: string): Promise<DecisionRecord[]> {
  return replayDecisions(nc, Subjects.decision(campaignId));
}

async function replayDecisions(nc: NatsConnection, filter: string): Promise<DecisionRecord[]> {
  // A string filter (not an array): nats-server 2.9 knows filter_subject only.
  const consumer = await jetstream(nc).consumers.get(Streams.DECISIONS.name, {
    filter_subjects: filter,
    deliver_policy: DeliverPolicy.All,
  });
  const out: DecisionRecord[] = [];
  let pending = (await consumer.info(true)).num_pending;
  while (pending > 0) {
    const batch = await consumer.fetch({ max_messages: Math.min(500, pending), expires: 2_000 });
    for await (const m of batch) {
      out.push(decodeJson(m.data) as DecisionRecord);
      pending = m.info.pending;
    }
  }
  await consumer.delete();
  return out;
}

/** Collects offers on mkt.offers.<channel>.<store> until closed. */
export function collectOffers(
  nc: NatsConnection,
  channel: string,
  storeId: string,
): { offers: OfferMessage[]; close(): void } {
  const offers: OfferMessage[] = [];
  const sub = nc.subscribe(Subjects.offer(channel, storeId), {
    callback: (_e, m) => void offers.push(decodeJson(m.data) as OfferMessage),
  });
  return { offers, close: () => sub.unsubscribe() };
}

/** Another decision replica on its own HTTP port (the same durable consumers as the others). */
export function startDecisionReplica(
  port: number,
  env: Record<string, string>,
  logs: string[],
): Promise<RunningServices> {
  return startServices({
    services: ['decision'],
    env: { ...env, NUNCHI_DECISION_PORT: String(port) },
    log: (s, line) => logs.push(`${s}:${port} ${line}`),
  });
}

/** What a decision replica has loaded: campaign id → version. */
export async function loadedOn(url: string): Promise<Record<string, number>> {
  const body = (await (await fetch(`${url}/v1/campaigns`)).json()) as { loaded: Record<string, number> };
  return body.loaded;
}

/** Waits until every replica has loaded `version` of the campaign (undefined: has dropped it). */
export async function waitLoaded(
  urls: string[],
  campaignId: string,
  version: number | undefined,
  timeoutMs = 15_000,
): Promise<void> {
  await waitFor(
    `${campaignId} ${version === undefined ? 'unloaded' : `v${version}`} on ${urls.length} replica(s)`,
    async () =>
      (await Promise.all(urls.map(loadedOn))).every((l) => l[campaignId] === version) ? true : undefined,
    timeoutMs,
  );
}

/**
 * A campaign's decisions with a campaign outcome (offer, control, late), one per decision id, from DECISIONS:
 * the decision service records each once by id and publishes it there; nothing else is written per campaign.
 */
export async function campaignRows(
  nc: NatsConnection,
  campaignId: string,
): Promise<Array<{ decisionId: string; customerId: string; outcome: string }>> {
  const byId = new Map<string, { decisionId: string; customerId: string; outcome: string }>();
  for (const d of await decisionStream(nc, campaignId))
    byId.set(d.decisionId, { decisionId: d.decisionId, customerId: d.customerId, outcome: d.outcome });
  return [...byId.values()];
}

/** A customer's decisions with a campaign outcome, from DECISIONS (every campaign). */
export async function customerRows(
  nc: NatsConnection,
  customerId: string,
): Promise<Array<{ decisionId: string; outcome: string; campaignId: string | null }>> {
  const byId = new Map<string, { decisionId: string; outcome: string; campaignId: string | null }>();
  for (const d of await replayDecisions(nc, Subjects.decisionsAll))
    if (d.customerId === customerId)
      byId.set(d.decisionId, {
        decisionId: d.decisionId,
        outcome: d.outcome,
        campaignId: d.campaignId ?? null,
      });
  return [...byId.values()];
}

/** Sum of a Prometheus counter's samples at GET /metrics whose labels include `labels` (e.g. 'outcome="late"'). */
export async function metricValue(url: string, name: string, labels = ''): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name) || (line[name.length] !== '{' && line[name.length] !== ' ')) continue;
    if (labels && !line.includes(labels)) continue;
    sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}

export const countBy = <T>(items: T[], key: (t: T) => string): Record<string, number> =>
  items.reduce<Record<string, number>>((acc, t) => ((acc[key(t)] = (acc[key(t)] ?? 0) + 1), acc), {});

/**
 * A campaign that reads every part of the context and never triggers (a store no event names): while it is
 * active, ENRICHED carries whole snapshots — for tests that check ENRICHED's recent events or maps (ENRICHED
 * carries only what the active campaigns read). Waits until the given context replicas carry them; returns
 * the function that ends it.
 */
export async function carryWholeContext(
  resources: Resources,
  contextUrls: string[] = [],
): Promise<() => Promise<void>> {
  const id = `carry-whole-context-${Math.random().toString(36).slice(2, 8)}`;
  await applyCampaign(
    resources,
    campaignFile({
      id,
      trigger: { types: ['purchase'], channels: ['pos'], stores: [`no-store-${id}`] },
      audience:
        'ctx.recent.size() < 0 && ctx.responses.size() < 0 && ctx.store.size() < 0 && ctx.category.size() < 0 && ctx.channel.size() < 0',
    }),
  );
  for (const url of contextUrls) await waitCarried(url, [...OMITTABLE_CONTEXT_PARTS]);
  return () => setCampaignState(resources, id, 'ended').then(() => undefined);
}

/**
 * Waits until the context replica at `url` puts these parts of the snapshot on ENRICHED (/v1/context/stats),
 * whole; or, with `keys`, a map by name carried at least for those names.
 */
export async function waitCarried(
  url: string,
  parts: OmittableContextPart[],
  keys?: Partial<Record<KeyedContextPart, string[]>>,
): Promise<void> {
  await waitFor(`${url} to carry ${parts.join(', ')} on ENRICHED`, async () => {
    const stats = (await (await fetch(`${url}/v1/context/stats`)).json()) as {
      enrichedCarries?: string[];
      enrichedKeysOnly?: Record<string, string[]>;
    };
    const carried = (p: OmittableContextPart) => {
      if (!stats.enrichedCarries?.includes(p)) return false;
      const only = stats.enrichedKeysOnly?.[p];
      const wanted = keys?.[p as KeyedContextPart];
      return only === undefined || (wanted !== undefined && wanted.every((k) => only.includes(k)));
    };
    return parts.every(carried) ? true : undefined;
  });
}
