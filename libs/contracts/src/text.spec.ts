import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ContractError } from './errors.js';
import { normalizeStrings, textProblem } from './text.js';
import { toAcceptedEvent, validateCustomerImport, validateEvent, validateEventFully } from './validate.js';

const NOW = Date.parse('2026-11-24T10:05:00Z');
type Item = { sku: string; category: string; quantity: number; unitPrice: number; name?: string };
const basket = (items: Item[], over: Record<string, unknown> = {}) => ({
  id: 'pos-ko-1',
  type: 'purchase',
  channel: 'pos',
  occurredAt: '2026-11-24T19:05:00+09:00',
  customer: { id: 'c-000042' },
  storeId: 'bundang-01',
  payload: {
    amount: items.reduce((s, i) => s + i.quantity * i.unitPrice, 0),
    currency: 'KRW',
    items,
  },
  ...over,
});
const item = (category: string, over: Partial<Item> = {}): Item => ({
  sku: 'a',
  category,
  quantity: 1,
  unitPrice: 1000,
  ...over,
});

function problems(body: unknown): string[] {
  try {
    validateEvent(body, { nowMs: NOW });
  } catch (error) {
    assert.ok(error instanceof ContractError);
    return error.details.map((d) => `${d.path}: ${d.message}`);
  }
  return [];
}

/** '분유' spelled with conjoining jamo (NFD), as some editors and macOS file names produce it. */
const BUNYU_NFD = '\u1107\u116e\u11ab\u110b\u1172';
const BUN_NFD = '\u1107\u116e\u11ab';

describe('names are Unicode text', () => {
  it('accepts Korean, spaces and punctuation in categories, SKUs, product and store names', () => {
    const body = basket(
      [
        item('분유', { sku: '분유-800g', name: '앱솔루트 명작 2단계 800g' }),
        item('맥주', { sku: 'CASS 500ml × 6' }),
        item('Frozen foods'),
        item('Beer & Cider'),
        item('Beer: Cider (imported)'),
        item('Café — bakery 🥐'),
      ],
      { storeName: '분당점 (Bundang #1)' },
    );
    assert.deepEqual(problems(body), []);
    const accepted = toAcceptedEvent(validateEvent(body, { nowMs: NOW }), 'c-000042', NOW);
    assert.equal(accepted.storeName, '분당점 (Bundang #1)');
    assert.equal(accepted.storeId, 'bundang-01');
    assert.deepEqual(
      (accepted.payload['items'] as Item[]).map((i) => i.category),
      ['분유', '맥주', 'Frozen foods', 'Beer & Cider', 'Beer: Cider (imported)', 'Café — bakery 🥐'],
    );
  });

  it('normalises to NFC: decomposed jamo become the composed syllables, so equal names are equal strings', () => {
    assert.notEqual(BUNYU_NFD, '분유');
    assert.equal(BUN_NFD.normalize('NFC'), '분');
    const body = basket([item(BUNYU_NFD, { sku: BUN_NFD, name: `${BUN_NFD} 800g` })], {
      storeName: `${BUN_NFD}당점`,
    });
    const e = validateEvent(body, { nowMs: NOW });
    const line = (e.payload['items'] as Item[])[0];
    assert.equal(line.category, '분유');
    assert.equal(line.sku, '분');
    assert.equal(line.name, '분 800g');
    assert.equal(e.storeName, '분당점');
    // The full run (the authority) normalises the same way when the fast path declines.
    const full = validateEventFully(normalizeStrings(body), { nowMs: NOW });
    assert.equal((full.payload['items'] as Item[])[0].category, '분유');
    // The caller's object is left as it was.
    assert.equal(body.payload.items[0].category, BUNYU_NFD);
  });

  it('normalises only what needs it: an ASCII body is returned as is', () => {
    const body = basket([item('beer')]);
    assert.equal(normalizeStrings(body), body);
    // what the shortcut must not skip: a syllable followed by a trailing jamo, a Latin letter and a combining mark
    assert.deepEqual(normalizeStrings(['\uac00\u11a8', 'Cafe\u0301', 'Café', '맥주']), [
      '각',
      'Café',
      'Café',
      '맥주',
    ]);
    const keyed = normalizeStrings({ [BUN_NFD]: [BUN_NFD, 1] });
    assert.deepEqual(keyed, { 분: ['분', 1] });
  });

  it('refuses control characters, line breaks, lone surrogates, blank and over-long names, by path', () => {
    assert.deepEqual(problems(basket([item('beer\u0000')])), [
      'payload.items[0].category: must be printable text (no control characters, line breaks or lone surrogates)',
    ]);
    assert.deepEqual(problems(basket([item('a\nb'), item('ok', { sku: 'x\u0085' })])), [
      'payload.items[0].category: must be printable text (no control characters, line breaks or lone surrogates)',
      'payload.items[1].sku: must be printable text (no control characters, line breaks or lone surrogates)',
    ]);
    assert.deepEqual(problems(basket([item('a\u2028b')])).length, 1);
    assert.deepEqual(problems(basket([item('\ud800beer')])), [
      'payload.items[0].category: not well-formed Unicode (lone surrogate)',
    ]);
    assert.deepEqual(problems(basket([item('   ')])), [
      'payload.items[0].category: must not be empty or only white space',
    ]);
    assert.deepEqual(problems(basket([item('')])), [
      'payload.items[0].category: must not be empty or only white space',
    ]);
    assert.deepEqual(problems(basket([item('맥'.repeat(100))])), []);
    assert.deepEqual(problems(basket([item('맥'.repeat(101))])), [
      'payload.items[0].category: must be 1-100 characters (got 101)',
    ]);
    // characters, not UTF-16 units: 100 emoji (200 units) fit, 101 do not
    assert.deepEqual(problems(basket([item('🍺'.repeat(100))])), []);
    assert.deepEqual(problems(basket([item('🍺'.repeat(101))])), [
      'payload.items[0].category: must be 1-100 characters (got 101)',
    ]);
    assert.deepEqual(problems(basket([item('beer', { sku: 's'.repeat(65) })])), [
      'payload.items[0].sku: must be 1-64 characters (got 65)',
    ]);
    assert.deepEqual(problems(basket([item('beer')], { storeName: 'x\ty' })), [
      'storeName: must be printable text (no control characters, line breaks or lone surrogates)',
    ]);
  });

  it('keeps what becomes a NATS subject token-safe: store id, channel', () => {
    assert.deepEqual(problems(basket([item('beer')], { storeId: '분당점' })), [
      'storeId: must be 1-64 of [A-Za-z0-9_-]',
    ]);
    assert.deepEqual(problems(basket([item('beer')], { channel: 'p o s' })), [
      'channel: must be 1-64 of [A-Za-z0-9_-]',
    ]);
  });

  it('applies to cart and product_view too, and to customer imports (NFC)', () => {
    const cart = {
      ...basket([item('x')]),
      type: 'cart',
      payload: { action: 'add', sku: '신라면 5입', category: '라면 & 면류', quantity: 1 },
    };
    assert.deepEqual(problems(cart), []);
    const view = {
      ...basket([item('x')]),
      type: 'product_view',
      payload: { sku: 'a', category: 'bad\u0007' },
    };
    assert.equal(problems(view).length, 1);
    const imported = validateCustomerImport({ id: 'c-1', region: `${BUN_NFD}당` });
    assert.equal(imported.region, '분당');
  });

  it('textProblem is the rule the schema and the DTO share', () => {
    const bounds = { minLength: 1, maxLength: 3 };
    assert.equal(textProblem('맥주', bounds), undefined);
    assert.equal(textProblem(5, bounds), 'must be a string');
    assert.equal(textProblem('abcd', bounds), 'must be 1-3 characters (got 4)');
  });
});
