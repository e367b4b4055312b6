/**
 * The `totals` cell of a `customer_days` row: one customer's daily rollups of one local day, every dimension
 * at once, in a compact positional binary form. A cold load decodes a year of these (one per active day,
 * ~6 dims each), so decoding is the part that has to be fast: no JSON, no Date, one pass over the bytes.
 *
 * Layout (version 1), little-endian where it matters:
 *
 *   byte 0           format version (1)
 *   then per dim, in the order given (rollupDay sorts them by dim):
 *     flags          one byte: bits 0–2 the dim's kind (0 all, 1 store:, 2 category:, 3 channel:, 4 any other
 *                    dim string, stored whole); bit 3 spend is a float64; bit 4 the counts are float64s (only
 *                    for malformed input: counts are whole and ≥ 0 otherwise); bit 5 lastVisitMs present;
 *                    bit 6 lastPurchaseMs present
 *     name           varint byte length + UTF-8 bytes, after the kind's prefix; absent for `all`
 *     spend          varint (a whole number of the currency's major unit, 0 … 2⁵³−1) or float64
 *     purchases, visits, items, events   varints (or four float64s, bit 4)
 *     lastVisitMs, lastPurchaseMs        when present: zig-zag varint of milliseconds since 00:00 UTC of the
 *                    row's day (the local day of an event lies within a day and a half of it, so ≤ 4 bytes)
 *
 * Varints are LEB128 (7 bits a byte, low first). A typical day is 150–300 bytes: about a third of the same
 * rows as JSON, and each dim decodes to one DailyRollup object.
 */
import { DAY_MS, DIM_ALL, parseDayIndex, type DailyRollup } from '@nunchi/context-model';

export const DAY_TOTALS_VERSION = 1;

export class DayTotalsFormatError extends Error {
  override readonly name = 'DayTotalsFormatError';
}

const KIND_ALL = 0;
const KIND_STORE = 1;
const KIND_CATEGORY = 2;
const KIND_CHANNEL = 3;
const KIND_RAW = 4;
const PREFIXES = ['', 'store:', 'category:', 'channel:', ''];

const SPEND_FLOAT = 1 << 3;
const COUNTS_FLOAT = 1 << 4;
const HAS_LAST_VISIT = 1 << 5;
const HAS_LAST_PURCHASE = 1 << 6;

const isWhole = (n: number) => Number.isSafeInteger(n) && n >= 0;

function kindOf(dim: string): number {
  if (dim === DIM_ALL) return KIND_ALL;
  if (dim.startsWith('store:')) return KIND_STORE;
  if (dim.startsWith('category:')) return KIND_CATEGORY;
  if (dim.startsWith('channel:')) return KIND_CHANNEL;
  return KIND_RAW;
}

/**
 * A growable byte buffer with the few writes the format needs. One scratch buffer is reused by every
 * encode (they are synchronous), and the result is one copy of the bytes written.
 */
class Writer {
  private static scratch = Buffer.allocUnsafe(1024);
  private buf = Writer.scratch;
  length = 0;

  private room(n: number): void {
    if (this.length + n <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.length + n));
    this.buf.copy(next, 0, 0, this.length);
    this.buf = Writer.scratch = next;
  }
  byte(b: number): void {
    this.room(1);
    this.buf[this.length++] = b;
  }
  /** 0 … 2⁵³−1 */
  varint(n: number): void {
    this.room(8);
    while (n >= 0x80) {
      this.buf[this.length++] = (n % 0x80) | 0x80;
      n = Math.floor(n / 0x80);
    }
    this.buf[this.length++] = n;
  }
  zigzag(n: number): void {
    this.varint(n >= 0 ? n * 2 : -n * 2 - 1);
  }
  float(n: number): void {
    this.room(8);
    this.buf.writeDoubleLE(n, this.length);
    this.length += 8;
  }
  /** length-prefixed UTF-8; ASCII (nearly every name) written char by char, without a native call */
  text(s: string, from: number): void {
    const chars = s.length - from;
    this.room(chars + 8);
    let ascii = true;
    for (let i = from; i < s.length; i++) {
      if (s.charCodeAt(i) >= 0x80) {
        ascii = false;
        break;
      }
    }
    if (ascii) {
      this.varint(chars);
      for (let i = from; i < s.length; i++) this.buf[this.length++] = s.charCodeAt(i);
      return;
    }
    const bytes = Buffer.from(s.slice(from), 'utf8');
    this.varint(bytes.length);
    this.room(bytes.length);
    bytes.copy(this.buf, this.length);
    this.length += bytes.length;
  }
  done(): Buffer {
    return Buffer.from(this.buf.subarray(0, this.length));
  }
}

/**
 * Encodes one day's rollup rows (all of the same day, as rollupDay returns them). The rows' `day` is not
 * stored: it is the row's clustering key. Times are stored relative to that day, so `day` must be valid.
 */
export function encodeDayTotals(day: string, rows: readonly DailyRollup[]): Buffer {
  const base = parseDayIndex(day) * DAY_MS;
  if (Number.isNaN(base)) throw new DayTotalsFormatError(`not a day: '${day}'`);
  const w = new Writer();
  w.byte(DAY_TOTALS_VERSION);
  for (const r of rows) {
    if (r.day !== day) throw new DayTotalsFormatError(`a row of ${r.day} among the rows of ${day}`);
    const kind = kindOf(r.dim);
    const wholeCounts = isWhole(r.purchases) && isWhole(r.visits) && isWhole(r.items) && isWhole(r.events);
    const flags =
      kind |
      (isWhole(r.spend) ? 0 : SPEND_FLOAT) |
      (wholeCounts ? 0 : COUNTS_FLOAT) |
      (r.lastVisitMs !== undefined ? HAS_LAST_VISIT : 0) |
      (r.lastPurchaseMs !== undefined ? HAS_LAST_PURCHASE : 0);
    w.byte(flags);
    if (kind !== KIND_ALL) w.text(r.dim, PREFIXES[kind].length);
    if (flags & SPEND_FLOAT) w.float(r.spend);
    else w.varint(r.spend);
    if (wholeCounts) {
      w.varint(r.purchases);
      w.varint(r.visits);
      w.varint(r.items);
      w.varint(r.events);
    } else {
      w.float(r.purchases);
      w.float(r.visits);
      w.float(r.items);
      w.float(r.events);
    }
    if (r.lastVisitMs !== undefined) w.zigzag(r.lastVisitMs - base);
    if (r.lastPurchaseMs !== undefined) w.zigzag(r.lastPurchaseMs - base);
  }
  return w.done();
}

/**
 * Decodes a `totals` cell into the day's rollup rows, in stored order, each with `day` set (the same string
 * for all of them). Throws DayTotalsFormatError on bytes this version cannot read.
 */
export function decodeDayTotals(day: string, bytes: Uint8Array): DailyRollup[] {
  const base = parseDayIndex(day) * DAY_MS;
  if (Number.isNaN(base)) throw new DayTotalsFormatError(`not a day: '${day}'`);
  if (bytes[0] !== DAY_TOTALS_VERSION)
    throw new DayTotalsFormatError(`customer_days totals of ${day}: unknown format version ${bytes[0]}`);
  const r = new Reader(bytes, 1);
  const end = bytes.length;
  const rows: DailyRollup[] = [];
  while (r.at < end) {
    const flags = bytes[r.at++];
    const kind = flags & 7;
    if (kind > KIND_RAW)
      throw new DayTotalsFormatError(`customer_days totals of ${day}: unknown dim kind ${kind}`);
    const dim = kind === KIND_ALL ? DIM_ALL : r.text(PREFIXES[kind]);
    const spend = flags & SPEND_FLOAT ? r.float() : r.varint();
    const row: DailyRollup =
      flags & COUNTS_FLOAT
        ? { day, dim, spend, purchases: r.float(), visits: r.float(), items: r.float(), events: r.float() }
        : {
            day,
            dim,
            spend,
            purchases: r.varint(),
            visits: r.varint(),
            items: r.varint(),
            events: r.varint(),
          };
    if (flags & HAS_LAST_VISIT) row.lastVisitMs = base + r.zigzag();
    if (flags & HAS_LAST_PURCHASE) row.lastPurchaseMs = base + r.zigzag();
    // Reads past the end see `undefined` (NaN numbers): caught here once per row rather than per byte.
    if (r.at > end || Number.isNaN(row.events))
      throw new DayTotalsFormatError(`customer_days totals of ${day}: truncated`);
    rows.push(row);
  }
  return rows;
}

const decoder = new TextDecoder('utf-8');

/** A cursor over the bytes: a class rather than closures, which V8 inlines into the decode loop (~2× faster). */
class Reader {
  constructor(
    private readonly bytes: Uint8Array,
    public at: number,
  ) {}

  /** LEB128, up to 2⁵³−1 (beyond 32 bits by arithmetic, not bit operations) */
  varint(): number {
    let b = this.bytes[this.at++];
    if (b < 0x80) return b;
    let n = b & 0x7f;
    let scale = 0x80;
    do {
      b = this.bytes[this.at++];
      if (b === undefined) return NaN;
      n += (b & 0x7f) * scale;
      scale *= 0x80;
    } while (b >= 0x80);
    return n;
  }

  zigzag(): number {
    const z = this.varint();
    return z % 2 === 0 ? z / 2 : -(z + 1) / 2;
  }

  float(): number {
    const b = this.bytes;
    if (this.at + 8 > b.length) {
      this.at = b.length + 1;
      return NaN;
    }
    const n = new DataView(b.buffer, b.byteOffset + this.at, 8).getFloat64(0, true);
    this.at += 8;
    return n;
  }

  /**
   * `prefix` followed by a length-prefixed UTF-8 name. Names are short and nearly always ASCII (store ids and
   * channels are subject tokens): those are built from char codes, with no native call; others (Korean
   * categories) go to TextDecoder.
   */
  text(prefix: string): string {
    const length = this.varint();
    const from = this.at;
    const to = from + length;
    this.at = to;
    if (to > this.bytes.length) return prefix;
    let s = prefix;
    for (let i = from; i < to; i++) {
      const c = this.bytes[i];
      if (c >= 0x80) return prefix + decoder.decode(this.bytes.subarray(from, to));
      s += String.fromCharCode(c);
    }
    return s;
  }
}
