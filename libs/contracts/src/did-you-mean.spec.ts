import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { closestMatch, didYouMean, editDistance } from './did-you-mean.js';

describe('did you mean', () => {
  it('counts insertions, deletions, substitutions and neighbour swaps as one edit each', () => {
    assert.equal(editDistance('audiance', 'audience'), 1);
    assert.equal(editDistance('agee', 'age'), 1);
    assert.equal(editDistance('chanels', 'channels'), 1);
    assert.equal(editDistance('teh', 'the'), 1);
    assert.equal(editDistance('', 'abc'), 3);
    assert.equal(editDistance('same', 'same'), 0);
  });

  it('suggests the closest candidate within a typo’s reach, and nothing for a different word', () => {
    const fields = ['id', 'name', 'trigger', 'audience', 'condition', 'schedule', 'offers', 'caps', 'budget'];
    assert.equal(closestMatch('audiance', fields), 'audience');
    assert.equal(closestMatch('Schedual', fields), 'schedule');
    assert.equal(closestMatch('colour', fields), undefined);
    assert.equal(closestMatch('xy', ['id']), undefined, 'two edits is too many for a short word');
    assert.equal(didYouMean('budjet', fields), ' (did you mean budget?)');
    assert.equal(
      didYouMean('agee', ['age'], (c) => `customer.${c}`),
      ' (did you mean customer.age?)',
    );
    assert.equal(didYouMean('zzz', fields), '');
  });
});
