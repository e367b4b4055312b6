import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { generateDataKey, SealedDataError } from './customer-data-key.js';
import { isSealedCell, openCell, SEALED_CELL_MARK, sealCell, sealedCellKeyId } from './sealed-cell.js';

const place = 'customer_days.totals/2026-12-01';
/** a clear customer_days.totals starts with its format version, 1: a sealed cell must not be taken for one */
const clear = Buffer.from([1, 0, 0x88, 0xa4, 0x07, 1, 1, 3, 1, 0x10, 0x49, 0x6e, 0x66, 0x61, 0x6e, 0x74]);

void describe('sealed cells (a Cassandra blob under a customer data key)', () => {
  void it('seals bytes so that none of them is left in clear, and opens them back with the key', () => {
    const key = generateDataKey();
    const cell = sealCell('c-42', key, place, clear);
    assert.equal(cell[0], SEALED_CELL_MARK);
    assert.ok(isSealedCell(cell) && !isSealedCell(clear));
    assert.equal(sealedCellKeyId(cell), key.id);
    assert.ok(!cell.includes(Buffer.from('Infant')), 'the clear bytes are not in the sealed cell');
    assert.deepEqual(openCell('c-42', key, place, cell), clear);
    assert.notDeepEqual(sealCell('c-42', key, place, clear), cell, 'a fresh IV per cell');
  });

  void it('does not open under another key, for another customer or row, or altered', () => {
    const key = generateDataKey();
    const cell = sealCell('c-42', key, place, clear);
    assert.throws(() => openCell('c-42', generateDataKey(), place, cell), /sealed under data key/);
    assert.throws(() => openCell('c-42', { ...generateDataKey(), id: key.id }, place, cell), SealedDataError);
    assert.throws(() => openCell('c-43', key, place, cell), /moved from another customer or row/);
    assert.throws(() => openCell('c-42', key, 'customer_days.totals/2026-12-02', cell), SealedDataError);
    const altered = Buffer.from(cell);
    altered[altered.length - 1] ^= 1;
    assert.throws(() => openCell('c-42', key, place, altered), SealedDataError);
  });
});
