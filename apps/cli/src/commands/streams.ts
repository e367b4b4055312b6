import { jetstreamManager } from '@nats-io/jetstream';
import { Streams } from '@nunchi/contracts/core';
import { ALL_STREAMS, applyStreams, checkStreams, requestStreamReplay } from '@nunchi/messaging';
import { UsageError } from '../options.js';
import type { Resources } from '../resources.js';

/** One stream as the server has it. */
export interface StreamLayout {
  name: string;
  replicas: number;
  maxMiB: number;
  messages: number;
}

/**
 * The migration step for NATS (`nunchi migrate`, `nunchi streams apply`): creates the streams if missing and
 * brings replicas, limits and duplicate window to this configuration. The only place streams change:
 * services check them at start and refuse a missing one or one with fewer replicas than configured.
 */
export async function applyStreamLayout(resources: Resources): Promise<StreamLayout[]> {
  const messaging = await resources.messaging();
  await applyStreams(messaging.nc, resources.config.nats);
  return streamLayout(resources);
}

/** Checks the streams as a service does at start (StreamLayoutError naming the fix), changing nothing. */
export async function checkStreamLayout(resources: Resources): Promise<StreamLayout[]> {
  const messaging = await resources.messaging();
  await checkStreams(messaging.nc, resources.config.nats);
  return streamLayout(resources);
}

async function streamLayout(resources: Resources): Promise<StreamLayout[]> {
  const jsm = await jetstreamManager((await resources.messaging()).nc);
  const out: StreamLayout[] = [];
  for (const name of ALL_STREAMS) {
    const info = await jsm.streams.info(Streams[name].name);
    out.push({
      name: info.config.name,
      replicas: info.config.num_replicas ?? 1,
      maxMiB: Math.round((info.config.max_bytes ?? 0) / 1_048_576),
      messages: info.state.messages,
    });
  }
  return out;
}

export const formatLayout = (layout: StreamLayout[]): string[] =>
  layout.map(
    (s) => `${s.name.padEnd(10)} replicas ${s.replicas}  limit ${s.maxMiB} MiB  ${s.messages} messages`,
  );

/** The streams the services consume, whose consumers a replay reaches. */
const REPLAYABLE = ['EVENTS', 'ENRICHED', 'DECISIONS'] as const;

/**
 * `nunchi streams replay <stream>`: asks every process consuming the stream to replay it by store time
 * (requestStreamReplay), as a consumer does on finding its stream's history rewound. Returns the stream's name.
 */
export async function replayStream(
  resources: Resources,
  stream: string,
  requestedBy: string,
): Promise<string> {
  const name = REPLAYABLE.find((s) => s === stream.toUpperCase());
  if (!name)
    throw new UsageError(
      `cannot replay ${stream}: give one of ${REPLAYABLE.join(', ')} (the streams the services consume)`,
    );
  const messaging = await resources.messaging();
  await requestStreamReplay(messaging.nc, Streams[name].name, requestedBy);
  return Streams[name].name;
}
