import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { subjectCovers, subjectsOverlap } from './bindings.js';

describe('subject patterns', () => {
  it('overlap when some subject matches both', () => {
    assert.equal(subjectsOverlap('mkt.events.>', 'mkt.events.3.purchase'), true);
    assert.equal(subjectsOverlap('mkt.events.*.purchase', 'mkt.events.3.*'), true);
    assert.equal(subjectsOverlap('mkt.events.>', 'mkt.enriched.>'), false);
    assert.equal(subjectsOverlap('mkt.events.*', 'mkt.events.3.purchase'), false);
    assert.equal(subjectsOverlap('mkt.events', 'mkt.events.>'), false, "'>' needs at least one token");
  });

  it('cover when every subject of the inner pattern matches the outer', () => {
    assert.equal(subjectCovers('mkt.events.>', 'mkt.events.*.>'), true);
    assert.equal(subjectCovers('mkt.events.>', 'mkt.events.>'), true);
    assert.equal(subjectCovers('mkt.enriched.>', 'mkt.enriched.*'), true);
    assert.equal(subjectCovers('mkt.enriched.*', 'mkt.enriched.>'), false);
    assert.equal(subjectCovers('mkt.events.*.purchase', 'mkt.events.*.*'), false);
    assert.equal(subjectCovers('mkt.events.3.>', 'mkt.events.*.>'), false);
  });
});
