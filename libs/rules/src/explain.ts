import type { CandidateLoss } from '@nunchi/contracts/core';
import type { Evaluation } from './decision.types.js';
import { formatValue } from './inputs.js';

/**
 * One loss as a line, the same in `campaigns test`, `decisions explain` and the decision API's
 * `explanation`: the reason is the contract's own name (CandidateLoss['reason']: cap, offer_ineligible,
 * budget, …), as in the stored record, the API and docs/campaigns.md — one vocabulary everywhere.
 */
export function lossLine(l: CandidateLoss): string {
  const who = `${l.campaignId} v${l.campaignVersion}${l.offerId ? ` offer ${l.offerId}` : ''}`;
  return `  - ${who}: ${l.reason}${l.detail ? ` — ${l.detail}` : ''}`;
}

/**
 * The evaluation as text lines, for `nunchi decisions explain` and `nunchi campaigns test`.
 * The first candidate is the engine's choice; the service may still move on to the next one when a
 * budget is exhausted, which it records as a `budget` loss.
 */
export function explain(evaluation: Evaluation): string[] {
  const lines: string[] = [];
  const { candidates, losses, considered } = evaluation;
  lines.push(
    `${considered} campaign${considered === 1 ? '' : 's'} considered, ${candidates.length} eligible`,
  );

  const winner = candidates[0];
  if (!winner) {
    lines.push('decision: no offer');
  } else {
    const offer = `${winner.offer.id} "${winner.offer.title}" (value ${winner.offer.value}, cost ${winner.offer.cost})`;
    lines.push(
      winner.holdout
        ? `decision: control — ${winner.campaignId} v${winner.campaignVersion} would offer ${offer}, but the customer is in its holdout group`
        : `decision: ${winner.campaignId} v${winner.campaignVersion} offers ${offer}`,
    );
    lines.push(`  priority ${winner.priority}, expected value ${winner.expectedValue}`);
    const inputs = Object.entries(winner.inputs);
    if (inputs.length > 0)
      lines.push(`  saw: ${inputs.map(([k, v]) => `${k}=${formatValue(v)}`).join(', ')}`);
  }

  for (let i = 1; i < candidates.length; i++) {
    const c = candidates[i];
    const w = candidates[0];
    const why =
      c.priority !== w.priority
        ? `priority ${c.priority} < ${w.priority}`
        : c.expectedValue !== w.expectedValue
          ? `expected value ${c.expectedValue} < ${w.expectedValue}`
          : 'same rank, campaign id orders after';
    // What the decision service records as a `lower_rank` loss.
    lines.push(
      `  #${i + 1} ${c.campaignId} v${c.campaignVersion} offer ${c.offer.id}${c.holdout ? ' (holdout)' : ''}: lower_rank — ${why}`,
    );
  }

  if (losses.length > 0) {
    lines.push('not chosen:');
    for (const l of losses) lines.push(lossLine(l));
  }
  return lines;
}
