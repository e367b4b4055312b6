import { Controller, Get, Inject } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { CampaignSetHolder } from '@nunchi/cassandra/nest';
import { CONFIG } from '@nunchi/config/nest';
import type { NunchiConfig } from '@nunchi/config';
import { CustomerStateCache } from './customer-state.cache.js';
import { HotTierPreload } from './hot-tier-preload.js';
import { PartitionAssignments } from '@nunchi/messaging';
import { CONTEXT_GROUP } from './events.controller.js';
import { Requires } from '@nunchi/telemetry/nest';

@ApiTags('context')
@Controller('v1/context')
export class ContextStatsController {
  constructor(
    @Inject(CONFIG) private readonly config: NunchiConfig,
    private readonly cache: CustomerStateCache,
    private readonly assignments: PartitionAssignments,
    private readonly campaigns: CampaignSetHolder,
    private readonly preload: HotTierPreload,
  ) {}

  @Get('stats')
  @Requires('operations.read')
  @ApiOperation({
    summary:
      'This replica: partitions it owns (of how many, among which live replicas), its hot tier (size, hit ratio, preload), the campaigns whose event patterns it folds and the context parts ENRICHED carries.',
  })
  stats() {
    const { ownership } = this.assignments.group(CONTEXT_GROUP);
    return {
      replica: ownership.memberId,
      partitions: {
        total: this.config.nats.partitions,
        owned: ownership.owned,
        share: ownership.share,
        members: ownership.members,
      },
      cache: this.cache.stats(),
      /** the hot tier's warm-up with each partition's recently active customers (HotTierPreload) */
      preload: this.preload.stats(),
      /** campaigns with a stateful event pattern (docs/patterns.md) whose partial matches this replica folds */
      patternCampaigns: this.campaigns.current?.statefulPatterns.map((p) => p.campaignId) ?? [],
      /** the omittable parts of the context ENRICHED carries: those the active campaigns read */
      enrichedCarries: [...(this.campaigns.current?.contextPartsRead ?? [])].sort(),
      /** of those, the maps by name carried only for some names (the active campaigns read no others) */
      enrichedKeysOnly: Object.fromEntries(
        [...(this.campaigns.current?.contextKeysRead ?? [])].map(([part, names]) => [
          part,
          [...names].sort(),
        ]),
      ),
    };
  }
}
