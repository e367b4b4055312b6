import { openBytes, sealBytes } from './aes-gcm.js';
import { SealedDataError, type DataKey } from './customer-data-key.js';

/**
 * A binary cell sealed under a customer's data key (crypto-shredding of Cassandra's own rows, docs/security.md
 * "Per-customer keys"): the bytes of a `blob` column that would otherwise hold personal data in clear, e.g. a
 * day of a customer's rollups (`customer_days.totals`).
 *
 * Layout: byte 0 is SEALED_CELL_MARK (never the first byte of a clear value of the columns sealed this way: a
 * clear `customer_days.totals` starts with its format version, 1), then one byte the length of the key id, the
 * key id (UTF-8), then `iv ‖ tag ‖ ciphertext` (aes-gcm.ts). The additional data is the customer id and the
 * cell's `place` (table, column and clustering key, e.g. `customer_days.totals/2026-12-01`), so a cell moved to
 * another customer or another row does not open. ~34 bytes more than the clear value, plus the key id.
 */
export const SEALED_CELL_MARK = 0x53; // 'S'

const cellAad = (customerId: string, place: string) => Buffer.from(`${customerId}\u0000${place}`, 'utf8');

/** `plaintext` sealed under the customer's data key for the cell at `place` (see the file comment). */
export function sealCell(customerId: string, dataKey: DataKey, place: string, plaintext: Buffer): Buffer {
  const keyId = Buffer.from(dataKey.id, 'utf8');
  if (keyId.length > 255) throw new RangeError('a data key id is at most 255 bytes');
  return Buffer.concat([
    Buffer.from([SEALED_CELL_MARK, keyId.length]),
    keyId,
    sealBytes(dataKey.key, plaintext, cellAad(customerId, place)),
  ]);
}

/** Whether a cell's bytes were sealed by sealCell (else they are a clear value, written before sealing). */
export function isSealedCell(cell: Buffer): boolean {
  return cell.length > 0 && cell[0] === SEALED_CELL_MARK;
}

/** The id of the data key a sealed cell names. */
export function sealedCellKeyId(cell: Buffer): string {
  return cell.toString('utf8', 2, 2 + cell[1]);
}

/** The plaintext of a sealed cell; throws SealedDataError when it does not open (another key, customer or place; altered). */
export function openCell(customerId: string, dataKey: DataKey, place: string, cell: Buffer): Buffer {
  const keyId = sealedCellKeyId(cell);
  if (keyId !== dataKey.id)
    throw new SealedDataError(
      `${place} of customer ${customerId} is sealed under data key "${keyId}", whose key is now "${dataKey.id}"`,
    );
  try {
    return openBytes(dataKey.key, cell.subarray(2 + cell[1]), cellAad(customerId, place));
  } catch (error) {
    throw new SealedDataError(
      `${place} of customer ${customerId} does not open with its data key "${keyId}": altered, or moved from another customer or row`,
      { cause: error },
    );
  }
}
