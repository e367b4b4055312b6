/**
 * The demo's scripted day at one hypermarket in Bundang, on the most recent Seoul day whose 19:05 has passed.
 * Each step says what should happen, so the demo's output can be read against it.
 */
export interface DemoStep {
  /** local time in Asia/Seoul, HH:MM */
  at: string;
  expect: string;
  event: Record<string, unknown>;
}

const line = (sku: string, category: string, quantity: number, unitPrice: number) => ({
  sku,
  category,
  quantity,
  unitPrice,
});
const purchase = (items: ReturnType<typeof line>[]) => ({
  amount: items.reduce((s, i) => s + i.quantity * i.unitPrice, 0),
  currency: 'KRW',
  items,
});
/** The founding retailer's tills write Korean category names: 분유 (formula), 수입 맥주 (imported beer), 냉동식품 (frozen foods). */
const koreanBasket = [
  line('분유-800g', '분유', 2, 32000),
  line('CASS 500ml × 4', '수입 맥주', 4, 3900),
  line('880999', '냉동식품', 1, 7500),
];
const dadsBasket = [
  line('880123', 'infant_formula', 2, 32000),
  line('880555', 'beer', 6, 4500),
  line('880777', 'diapers', 1, 19000),
];

export const DEMO_STEPS: DemoStep[] = [
  {
    at: '10:12',
    expect: 'no offer: 52 years old, outside the audience',
    event: {
      type: 'purchase',
      channel: 'pos',
      storeId: 'bundang-01',
      customer: { loyaltyCard: 'LC-0051' },
      payload: purchase(dadsBasket),
    },
  },
  {
    at: '14:20',
    expect: 'no offer: lives in Suwon',
    event: {
      type: 'purchase',
      channel: 'pos',
      storeId: 'bundang-01',
      customer: { loyaltyCard: 'LC-0088' },
      payload: purchase(dadsBasket),
    },
  },
  {
    at: '16:45',
    expect: 'no offer: the basket has no beer',
    event: {
      type: 'purchase',
      channel: 'pos',
      storeId: 'bundang-01',
      customer: { loyaltyCard: 'LC-0043' },
      payload: purchase([line('880123', 'infant_formula', 4, 32000)]),
    },
  },
  {
    at: '18:30',
    expect:
      'a Korean basket (분유 + 수입 맥주) in Bundang → bundang-formula-beer-ko offers 기저귀 20% 할인 쿠폰 (diaper coupon)',
    event: {
      type: 'purchase',
      channel: 'pos',
      storeId: 'bundang-01',
      storeName: '분당점',
      customer: { email: 'jiwoo@example.com' },
      payload: purchase(koreanBasket),
    },
  },
  {
    at: '19:05',
    expect: 'the founding scenario: the Bundang father, credit tier C, after 18:00 → 30% off a chicken',
    event: {
      type: 'purchase',
      channel: 'pos',
      storeId: 'bundang-01',
      customer: { loyaltyCard: 'LC-0042' },
      payload: purchase(dadsBasket),
    },
  },
  {
    at: '19:40',
    expect: 'another Bundang father, credit tier A → double points',
    event: {
      type: 'purchase',
      channel: 'pos',
      storeId: 'bundang-01',
      customer: { loyaltyCard: 'LC-0043' },
      payload: purchase(dadsBasket),
    },
  },
  {
    at: '20:10',
    expect: 'rejected: "WON" is not an ISO 4217 currency code (KRW is)',
    event: {
      type: 'purchase',
      channel: 'pos',
      storeId: 'bundang-01',
      customer: { loyaltyCard: 'LC-0042' },
      payload: { amount: 5, currency: 'WON', items: dadsBasket },
    },
  },
];

/** The most recent Seoul calendar day on which 19:05 KST has passed at `nowMs`, as 'YYYY-MM-DD'. */
export function demoDay(nowMs: number): string {
  const seoul = new Date(nowMs + 9 * 3_600_000);
  const minutes = seoul.getUTCHours() * 60 + seoul.getUTCMinutes();
  // The last step is at 20:10; before that hour the script replays yesterday's day.
  const day = minutes >= 20 * 60 + 11 ? seoul : new Date(seoul.getTime() - 86_400_000);
  return day.toISOString().slice(0, 10);
}
