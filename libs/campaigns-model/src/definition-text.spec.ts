import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { definitionYaml, unifiedDiff } from './definition-text.js';

const v1 = {
  offers: [
    { value: 5000, title: 'Double points', id: 'double-points', when: "customer.creditTier in ['A','B']" },
  ],
  name: 'Bundang dad',
  version: 1,
  id: 'dad',
  trigger: { channels: ['pos'], types: ['purchase'] },
  audience:
    "customer.age >= 30 && customer.age <= 39 && customer.gender == 'M' && customer.region == 'Bundang' && customer.creditTier != 'Z'",
  schedule: { timezone: 'Asia/Seoul', from: '2026-12-01' },
  budget: { maxOffers: 100 },
};

void describe('definition text and diff', () => {
  void it('renders a definition as YAML in the documented field order, without the version, long CEL on one line', () => {
    assert.equal(
      definitionYaml(v1),
      [
        'id: dad',
        'name: Bundang dad',
        'trigger:',
        '  types:',
        '    - purchase',
        '  channels:',
        '    - pos',
        `audience: customer.age >= 30 && customer.age <= 39 && customer.gender == 'M' && customer.region == 'Bundang' && customer.creditTier != 'Z'`,
        'schedule:',
        '  from: 2026-12-01',
        '  timezone: Asia/Seoul',
        'offers:',
        '  - id: double-points',
        '    title: Double points',
        '    value: 5000',
        `    when: customer.creditTier in ['A','B']`,
        'budget:',
        '  maxOffers: 100',
        '',
      ].join('\n'),
    );
    // Key order and version do not matter; an unknown field still shows, at the end.
    assert.equal(definitionYaml({ ...v1, version: 7, offers: [...v1.offers] }), definitionYaml(v1));
    assert.match(definitionYaml({ ...v1, zeta: 1 }), /budget:\n {2}maxOffers: 100\nzeta: 1\n$/);
  });

  void it('diffs two versions line by line, with headers; equal versions have no hunk', () => {
    const v2 = { ...v1, version: 2, budget: { maxOffers: 200 }, priority: 5 };
    const text = unifiedDiff(
      { label: 'dad v1', header: 'active', yaml: definitionYaml(v1) },
      { label: 'dad v2', header: 'paused', yaml: definitionYaml(v2) },
      1,
    );
    assert.equal(
      text,
      [
        '--- dad v1\tactive',
        '+++ dad v2\tpaused',
        '@@ -17,2 +17,3 @@',
        ' budget:',
        '-  maxOffers: 100',
        '+  maxOffers: 200',
        '+priority: 5',
        '',
      ].join('\n'),
    );
    assert.equal(
      unifiedDiff({ label: 'a', yaml: definitionYaml(v1) }, { label: 'b', yaml: definitionYaml(v1) }),
      '--- a\n+++ b\n',
    );
  });
});
