import type { DecisionRecord } from '@nunchi/contracts/core';
import { lossLine } from './explain.js';

/** A stored decision as lines a marketer can read: what was chosen, on which inputs, and why others lost. */
export function explainRecord(d: DecisionRecord): string[] {
  const lines = [
    `decision ${d.decisionId} for event ${d.eventId} (customer ${d.customerId}, ${d.channel}${d.storeId ? ` @ ${d.storeId}` : ''})`,
  ];
  lines.push(`decided at ${d.decidedAt}, ${d.latencyMs} ms after receipt; trace ${d.traceId || '(none)'}`);
  const versions = Object.entries(d.campaignVersions).map(([id, v]) => `${id} v${v}`);
  lines.push(`campaigns considered: ${versions.length ? versions.join(', ') : 'none'}`);
  switch (d.outcome) {
    case 'offer':
      lines.push(
        `outcome: OFFER ${d.offerId} "${d.title}" (value ${d.value}, cost ${d.cost}) from ${d.campaignId} v${d.campaignVersion}`,
      );
      break;
    case 'control':
      lines.push(
        `outcome: CONTROL — ${d.campaignId} v${d.campaignVersion} would have offered ${d.offerId}; the customer is in its holdout group`,
      );
      break;
    case 'late':
      lines.push(
        `outcome: LATE — ${d.campaignId} would have offered ${d.offerId}, but the deadline had passed; nothing was sent`,
      );
      break;
    case 'none':
      lines.push('outcome: no offer');
  }
  for (const [path, value] of Object.entries(d.inputs ?? {}))
    lines.push(`  saw ${path} = ${JSON.stringify(value)}`);
  // Inputs and loss details are sealed under the customer's data key (crypto-shredding): say why they are not
  // shown.
  if (d.inputsUnavailable === 'erased')
    lines.push(
      "  saw: (erased — the customer was erased and its data key with it; the inputs and the losses' details can't be opened)",
    );
  else if (d.inputsUnavailable === 'sealed' || (d.sealedInputs && !d.inputs) || d.sealedLossDetails)
    lines.push(
      "  saw: (sealed — this reader holds no identity key to open the inputs and the losses' details)",
    );
  if (d.losses.length) lines.push('not chosen:');
  for (const loss of d.losses) lines.push(lossLine(loss));
  return lines;
}
