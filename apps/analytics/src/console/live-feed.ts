import { Injectable, Logger, type BeforeApplicationShutdown } from '@nestjs/common';
import { exhaustMap, map, share, Subject, takeUntil, timer, type Observable } from 'rxjs';
import { CampaignResults, type CampaignSummary } from '@nunchi/operations';
import { EventCounts } from '../state/event-counts.js';
import { DlqReader } from './dlq-reader.js';
import { liveFigures, SERIES_MS, type LiveFigures, type LiveSample } from './live-figures.js';
import { ServiceReaders } from './service-readers.js';

/** how often the overview's figures are sampled while someone watches, milliseconds */
export const SAMPLE_EVERY_MS = 1_000;

/**
 * The overview's live figures, sampled once a second while at least one console is connected (share():
 * the timer stops with the last subscriber) and pushed to every one of them. Samples of the last SERIES_MS
 * are kept, so a console that connects gets the recent series at once.
 */
@Injectable()
export class LiveFeed implements BeforeApplicationShutdown {
  private readonly logger = new Logger('console');
  private readonly samples: LiveSample[] = [];
  private readonly closing = new Subject<void>();
  readonly figures$: Observable<LiveFigures>;

  constructor(
    private readonly results: CampaignResults,
    private readonly events: EventCounts,
    private readonly dlq: DlqReader,
    private readonly services: ServiceReaders,
  ) {
    this.figures$ = timer(0, SAMPLE_EVERY_MS).pipe(
      exhaustMap(() => this.sample()),
      map(() => liveFigures(this.samples)!),
      // An open event stream would keep the HTTP server from closing: end them all first.
      takeUntil(this.closing),
      share(),
    );
  }

  beforeApplicationShutdown(): void {
    this.closing.next();
    this.closing.complete();
  }

  private async sample(): Promise<void> {
    const [dlqByStage, eventToOfferBuckets, campaigns] = await Promise.all([
      this.dlq.counts().catch((error: Error) => {
        this.logger.warn(`DLQ counts unavailable: ${error.message}`);
        return undefined;
      }),
      this.services.eventToOfferBuckets(),
      this.results.summaries().catch((error: Error) => {
        this.logger.warn(`campaign figures unavailable: ${error.message}`);
        return undefined;
      }),
    ]);
    const atMs = Date.now();
    // Without fresh campaign figures, the last sample's stand (a gap in Cassandra is not a drop to zero).
    const counts = campaigns
      ? countsOf(campaigns)
      : {
          decisions: this.samples.at(-1)?.decisions ?? { offers: 0, control: 0, late: 0 },
          campaigns: this.samples.at(-1)?.campaigns ?? {},
        };
    this.samples.push({
      atMs,
      eventsByChannel: { ...this.events.byChannel },
      ...counts,
      dlqByStage,
      eventToOfferBuckets,
    });
    while (this.samples.length && this.samples[0].atMs < atMs - SERIES_MS) this.samples.shift();
  }
}

/**
 * The campaign counters a sample needs, from the campaign figures (CampaignResults: the same the stats API
 * and the campaign pages show). Events by channel come from EventCounts (metrics), not from here.
 */
export function countsOf(campaigns: readonly CampaignSummary[]): Pick<LiveSample, 'decisions' | 'campaigns'> {
  const decisions = { offers: 0, control: 0, late: 0 };
  const byCampaign: LiveSample['campaigns'] = {};
  for (const c of campaigns) {
    decisions.offers += c.offers;
    decisions.control += c.control;
    decisions.late += c.late;
    byCampaign[c.campaignId] = { decisions: c.decisions, offers: c.offers, control: c.control, late: c.late };
  }
  return { decisions, campaigns: byCampaign };
}
