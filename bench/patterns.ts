/**
 * npm run bench:patterns — the pure pattern model (libs/rules/src/patterns) on one core, no I/O:
 * - matching cost per event: foldPatterns over a mixed stream, with 1 and with 10 stateful patterns active;
 * - one million pending absence timers as the context service would hold them (one PatternState per
 *   customer): heap per timer, arming rate, firing rate (fireAbsence: the state without the timer and the
 *   synthetic event). Lateness against the durable timer store is not measured here.
 * Run with `node --expose-gc` for exact heap figures. `-- <timers>` sets how many timers (default 1,000,000);
 * `-- --esper` then runs the same patterns beside Esper on the same events (bench/patterns-esper.ts).
 */
import type { AcceptedEvent } from '@nunchi/contracts';
import {
  EMPTY_PATTERN_STATE,
  fireAbsence,
  foldPatterns,
  type PatternState,
  type StatefulPattern,
} from '@nunchi/rules';
import { runPatternsBesideEsper, statefulPattern } from './patterns-esper.js';
import { benchArgs } from './support.js';

const args = benchArgs(
  'usage: node --expose-gc dist/bench/patterns.js [TIMERS] [--esper]\n  TIMERS   absence timers armed and fired (default 1,000,000)\n  --esper  then the same patterns beside Esper on the same events',
  { esper: 'flag' },
  'TIMERS',
);
const TIMERS = Number(args.rest[0] ?? 1_000_000);
if (!Number.isInteger(TIMERS) || TIMERS <= 0)
  throw new Error(`TIMERS must be a positive whole number, not ${args.rest[0]}`);
const TZ = 'Asia/Seoul';
const T0 = Date.parse('2026-11-01T00:00:00+09:00');
const gc = (globalThis as { gc?: () => void }).gc;

const stateful = statefulPattern;

const sequence = (i: number) =>
  stateful(
    `seq-${i}`,
    {
      sequence: {
        steps: [
          { types: ['product_view'], channels: ['app'], where: `'cat-${i % 5}' in event.categories` },
          { types: ['visit'] },
        ],
        within: '2h',
      },
    },
    ['visit'],
  );
const count = (i: number) =>
  stateful(`count-${i}`, { count: { of: { types: ['visit'] }, within: '7d', nth: 3 } }, ['visit']);
const absence = (i: number) =>
  stateful(
    `abs-${i}`,
    { absence: { after: { types: ['purchase'] }, expect: { types: ['purchase'] }, within: '30d' } },
    ['absence'],
  );

const TYPES = ['product_view', 'visit', 'purchase', 'page_view', 'app_open'] as const;
function eventOf(n: number, customer: string): AcceptedEvent {
  const type = TYPES[n % TYPES.length];
  const at = T0 + n * 600_000;
  return {
    id: `e-${customer}-${n}`,
    type,
    channel: n % 3 === 0 ? 'app' : 'pos',
    occurredAt: new Date(at).toISOString(),
    occurredAtMs: at,
    receivedAtMs: at,
    customerId: customer,
    storeId: 's-1',
    payload:
      type === 'product_view'
        ? { category: `cat-${n % 7}` }
        : type === 'purchase'
          ? { amount: 10_000, items: [] }
          : {},
  };
}

function matchingCost(patterns: StatefulPattern[], events: number): number {
  let state: PatternState = EMPTY_PATTERN_STATE;
  const stream = Array.from({ length: events }, (_, n) => eventOf(n, `c-${n % 1000}`));
  const states = new Map<string, PatternState>();
  const started = performance.now();
  for (const e of stream) {
    state = states.get(e.customerId) ?? EMPTY_PATTERN_STATE;
    states.set(e.customerId, foldPatterns(state, e, patterns).state);
  }
  return ((performance.now() - started) * 1000) / events;
}

function heapMiB(): number {
  gc?.();
  return process.memoryUsage().heapUsed / 2 ** 20;
}

const one = [sequence(0)];
const ten = [
  ...Array.from({ length: 4 }, (_, i) => sequence(i)),
  ...Array.from({ length: 3 }, (_, i) => count(i)),
  ...Array.from({ length: 3 }, (_, i) => absence(i)),
];
matchingCost(ten, 20_000); // warm-up
const perEvent1 = matchingCost(one, 200_000);
const perEvent10 = matchingCost(ten, 200_000);

const noRepurchase = absence(99);
if (noRepurchase.kind !== 'absence') throw new Error('absence expected');
const before = heapMiB();
const pending = new Map<string, PatternState>();
let started = performance.now();
for (let i = 0; i < TIMERS; i++) {
  const customer = `c-${i}`;
  const buy = { ...eventOf(2, customer), id: `p-${i}`, occurredAtMs: T0 + i * 1000 };
  pending.set(customer, foldPatterns(EMPTY_PATTERN_STATE, buy, [noRepurchase]).state);
}
const armPerSecond = TIMERS / ((performance.now() - started) / 1000);
const bytesPerTimer = ((heapMiB() - before) * 2 ** 20) / TIMERS;
started = performance.now();
let fired = 0;
const nowMs = T0 + TIMERS * 1000 + 31 * 86_400_000;
for (const [customer, state] of pending) {
  const f = fireAbsence(state, customer, noRepurchase, nowMs, TZ);
  if (f) {
    pending.set(customer, f.state);
    fired++;
  }
}
const firePerSecond = fired / ((performance.now() - started) / 1000);

const fmt = (n: number, digits = 1) => n.toLocaleString('en-US', { maximumFractionDigits: digits });
console.log(
  `| pattern model, one core, no I/O${gc ? '' : ' (heap approximate: run with node --expose-gc)'} | figure |`,
);
console.log('|---|---|');
console.log(`| foldPatterns per event, 1 sequence active | ${fmt(perEvent1, 2)} µs |`);
console.log(
  `| foldPatterns per event, 10 stateful patterns (4 sequences, 3 counts, 3 absences) | ${fmt(perEvent10, 2)} µs |`,
);
console.log(
  `| ${fmt(TIMERS, 0)} pending absence timers (one PatternState each): heap per timer | ${fmt(bytesPerTimer, 0)} B |`,
);
console.log(`| arming rate (fold of the anchoring purchase) | ${fmt(armPerSecond, 0)} /s |`);
console.log(
  `| firing rate (fireAbsence: state without the timer + synthetic event), ${fmt(fired, 0)} fired | ${fmt(firePerSecond, 0)} /s |`,
);
if (args.flags['esper']) runPatternsBesideEsper();
