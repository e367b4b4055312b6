import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import type { RecentEvent } from '@nunchi/contracts';
import { CEL_TYPES, CEL_VARIABLES } from './cel-environment.js';
import { compileExpression, isCelProblem } from './cel-expression.js';
import { parseCampaign } from './parse-campaign.js';
import { CONTRACT_LOSS_REASONS } from './testing/loss-reasons.js';
import { projectPath } from '@nunchi/config';

const reference = readFileSync(projectPath('docs/cel-reference.md'), 'utf8');

void describe('docs/cel-reference.md', () => {
  void it('documents every field of event, customer, ctx and now', () => {
    for (const [variable, type] of Object.entries(CEL_VARIABLES)) {
      for (const field of Object.keys(CEL_TYPES[type])) {
        assert.ok(reference.includes(`\`${variable}.${field}\``), `${variable}.${field} is not documented`);
      }
    }
    for (const total of Object.keys(CEL_TYPES.Totals))
      assert.ok(reference.includes(`| \`${total}\` |`), total);
    for (const w of Object.keys(CEL_TYPES.Windows)) assert.ok(reference.includes(`\`${w}\``), w);
  });

  void it("documents every field of RecentEvent (ctx.recent[i]) as a table row, the contract's and CEL's alike", () => {
    const rows = reference.slice(reference.indexOf('**RecentEvent**'));
    // A Record over the contract's keys: adding a field to RecentEvent without listing it here does not compile.
    const fields: Record<keyof RecentEvent, true> = {
      id: true,
      type: true,
      channel: true,
      occurredAt: true,
      occurredAtMs: true,
      storeId: true,
      amount: true,
    };
    const contract = Object.keys(fields) as Array<keyof RecentEvent>;
    assert.deepEqual(Object.keys(CEL_TYPES.RecentEvent).sort(), [...contract].sort());
    for (const field of contract)
      assert.match(rows, new RegExp(`\\n\\| \`${field}\` \\| ${CEL_TYPES.RecentEvent[field]} \\|`), field);
  });

  void it('every example compiles', () => {
    const block = /```cel\n([\s\S]*?)```/.exec(reference)?.[1];
    assert.ok(block, 'no ```cel block');
    const lines = block.split('\n').filter((l) => l.trim() !== '' && !l.trim().startsWith('//'));
    assert.ok(lines.length >= 8);
    for (const line of lines) {
      const c = compileExpression(line);
      assert.ok(!isCelProblem(c), `${line}\n${isCelProblem(c) ? c.message : ''}`);
    }
  });
});

void describe('docs/campaigns.md', () => {
  void it('shows a refused campaign with exactly the problems, layout and CEL carets the code prints', () => {
    const doc = readFileSync(projectPath('docs/campaigns.md'), 'utf8');
    const section = doc.slice(doc.indexOf('## Validation errors'));
    const yaml = /```yaml\n([\s\S]*?)```/.exec(section)?.[1];
    const shown = /```text\n([\s\S]*?)```/.exec(section)?.[1];
    assert.ok(yaml && shown, 'a ```yaml and a ```text block under "## Validation errors"');
    let printed = '';
    try {
      parseCampaign(yaml, { timeZone: 'Asia/Seoul' });
    } catch (e) {
      printed = (e as Error).message;
    }
    assert.equal(shown.trimEnd(), printed);
  });

  void it('lists every loss reason of the contract by its own name', () => {
    const doc = readFileSync(projectPath('docs/campaigns.md'), 'utf8');
    for (const reason of CONTRACT_LOSS_REASONS) assert.ok(doc.includes(`| \`${reason}\` |`), reason);
  });
});
