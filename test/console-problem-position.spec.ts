import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { pathKeys, problemPosition } from '../apps/console/src/problem-position.js';

/** Where the console's editor marks a problem of the campaigns API (apps/console/src/problem-position.ts). */
describe('console editor: a problem placed in the campaign text', () => {
  const at = (source: string, path: string, message: string) => {
    const p = problemPosition(source, { path, message });
    return p && { line: p.line, column: p.column, text: source.slice(p.from, p.to) };
  };

  it('reads paths as the API writes them', () => {
    assert.deepEqual(pathKeys('offers[1].when'), ['offers', 1, 'when']);
    assert.deepEqual(pathKeys('schedule.timezone'), ['schedule', 'timezone']);
  });

  it('a CEL position inside a quoted, a plain and a flow-mapping scalar', () => {
    const source = [
      'id: x',
      'audience: "customer.agee >= 30"',
      "condition: event.amount >= 1 && customer.regoin == 'B'",
      'offers:',
      '  - { id: a, title: A, value: 1, when: "now.hourr >= 18" }',
    ].join('\n');
    assert.deepEqual(at(source, 'audience', 'CEL type error at line 1, column 10: No such key: agee'), {
      line: 2,
      column: 21,
      text: 'agee',
    });
    assert.deepEqual(
      at(source, 'condition', 'CEL type error at line 1, column 31 (file line 3): No such key'),
      { line: 3, column: 42, text: 'regoin' },
    );
    assert.deepEqual(at(source, 'offers[0].when', 'CEL type error at line 1, column 5: No such key: hourr'), {
      line: 5,
      column: 45,
      text: 'hourr',
    });
  });

  it('a CEL position on the second line of a block scalar', () => {
    const source = [
      'id: x',
      'condition: |',
      '  event.amount >= 1 &&',
      '    customer.regoin == "B"',
      'offers: []',
    ].join('\n');
    assert.deepEqual(at(source, 'condition', 'CEL type error at line 2, column 12: No such key'), {
      line: 4,
      column: 14,
      text: 'regoin',
    });
  });

  it('without a CEL position: the field’s value; a path not in the text: nowhere', () => {
    const source = 'id: x\nholdoutPercent: 200\n';
    assert.deepEqual(at(source, 'holdoutPercent', 'must be <= 100'), { line: 2, column: 17, text: '200' });
    assert.equal(at(source, 'schedule', 'is required'), undefined);
    assert.equal(at(source, '', 'the body'), undefined);
  });
});
