import {
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import { CampaignRepository } from '../repositories/campaign.repository.js';
import { CONFIG } from '@nunchi/config/nest';
import type { NunchiConfig } from '@nunchi/config';
import { CampaignSet, compileCampaign, parseCampaign, type CompiledCampaign } from '@nunchi/rules';

/** milliseconds between reloads when no change hint arrives (a lost hint heals within this) */
const POLL_MS = 5_000;

/**
 * Holds the current compiled campaign set (the decision service decides with it; the context service folds
 * the stateful patterns of its campaigns, docs/patterns.md). Reloaded on the change hint (core NATS, within a second; see
 * DecisionMessagesController) and by polling; swapped atomically, so each event is decided against one consistent set of versions.
 * Unchanged versions are not recompiled.
 */
@Injectable()
export class CampaignSetHolder implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('campaigns');
  private compiled = new Map<string, CompiledCampaign>();
  private currentSet!: CampaignSet;
  private timer?: NodeJS.Timeout;
  private reloading?: Promise<void>;
  /** a reload was asked for while one was running: that one may have read before the change */
  private reloadAgain = false;

  constructor(
    @Inject(CONFIG) private readonly config: NunchiConfig,
    private readonly campaigns: CampaignRepository,
  ) {}

  get current(): CampaignSet {
    return this.currentSet;
  }

  async onApplicationBootstrap(): Promise<void> {
    await this.reload();
    this.timer = setInterval(() => void this.reload(), POLL_MS);
    this.timer.unref();
  }

  onApplicationShutdown(): void {
    clearInterval(this.timer);
  }

  /**
   * Coalesces reloads: one runs at a time, and a request that arrives while one runs gets one more run
   * after it (a hint can arrive just after the running reload read the index, and must not wait for the poll).
   */
  reload(): Promise<void> {
    if (this.reloading) {
      this.reloadAgain = true;
      return this.reloading;
    }
    this.reloading = (async () => {
      try {
        do {
          this.reloadAgain = false;
          await this.load();
        } while (this.reloadAgain);
      } finally {
        this.reloading = undefined;
      }
    })();
    return this.reloading;
  }

  /** Reads which versions are current (one small partition) and fetches and compiles only new ones. */
  private async load(): Promise<void> {
    try {
      // Paused and ended campaigns are never evaluated: not even fetched.
      const current = (await this.campaigns.currentVersions()).filter((c) => c.state === 'active');
      const next = new Map<string, CompiledCampaign>();
      await Promise.all(
        current.map(async ({ campaignId, version }) => {
          const key = `${campaignId}@${version}`;
          const existing = this.compiled.get(key);
          if (existing) return void next.set(key, existing);
          const stored = await this.campaigns.get(campaignId, version);
          if (!stored) {
            // Not readable yet (the version row is written before the index, so only a failing replica
            // could cause this): keep what this replica had for the campaign until the next reload.
            for (const [k, c] of this.compiled) if (c.id === campaignId) next.set(k, c);
            return;
          }
          try {
            next.set(key, compileCampaign(parseCampaign(JSON.parse(stored.definition) as unknown), version));
          } catch (error) {
            this.logger.error(`campaign ${key} does not compile and is skipped: ${(error as Error).message}`);
          }
        }),
      );
      const changed = next.size !== this.compiled.size || [...next.keys()].some((k) => !this.compiled.has(k));
      if (changed || !this.currentSet) {
        this.compiled = next;
        // Built aside and swapped in one assignment: a decision holds the set it started with.
        this.currentSet = new CampaignSet([...next.values()], {
          maxOffersPerCustomerPerDay: this.config.domain.maxOffersPerCustomerPerDay,
          contactPolicy: this.config.domain.contactPolicy,
          timeZone: this.config.domain.timeZone,
        });
        this.logger.log(`campaign set loaded: ${[...next.keys()].sort().join(', ') || '(none)'}`);
      }
    } catch (error) {
      this.logger.error(`campaign reload failed (keeping the previous set): ${(error as Error).message}`);
      if (!this.currentSet) throw error;
    }
  }
}
