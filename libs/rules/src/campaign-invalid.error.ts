import type { ProblemDetail } from '@nunchi/contracts/core';

/**
 * A campaign that cannot run. `details` lists every problem found, each addressed by path
 * ("offers[1].when", "schedule.timezone"); CEL problems carry the position in the expression.
 */
export class CampaignInvalidError extends Error {
  override readonly name = 'CampaignInvalidError';
  constructor(
    readonly details: ProblemDetail[],
    /** the campaign id, when it could be read */
    readonly campaignId?: string,
    options?: { cause?: unknown },
  ) {
    super(
      `campaign ${campaignId ? `"${campaignId}" ` : ''}is invalid (${details.length} problem${details.length === 1 ? '' : 's'}):\n` +
        details.map((d) => `  ${d.path || '(root)'}: ${d.message.replace(/\n/g, '\n    ')}`).join('\n'),
      options,
    );
  }
}
