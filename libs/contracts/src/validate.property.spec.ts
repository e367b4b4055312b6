import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compileDtoCheck } from './dto-check.js';
import { ContractError } from './errors.js';
import { EventEnvelopeDto, PAYLOAD_DTOS } from './events.js';
import type { EventType } from './event-names.js';
import { exampleEvents } from './example-events.js';
import { guardStructure, toAcceptedEvent, validateEvent, validateEventFully } from './validate.js';
import { prng } from '@nunchi/testing';

const HOSTILE: unknown[] = [
  null,
  '',
  'x',
  'X'.repeat(65),
  'K'.repeat(300),
  'KRW',
  'krw',
  'USD',
  'pos',
  'purchase',
  '2026-11-24T19:05:00+09:00',
  '2026-11-24T19:05:00',
  '2026-02-30T10:00:00Z',
  'a@b.c',
  '+82 10-1234-5678',
  0,
  -0,
  1,
  -1,
  2,
  1.5,
  90.5,
  10_000,
  10_001,
  1e12,
  1e13,
  Infinity,
  -Infinity,
  NaN,
  '1',
  '2',
  'NaN',
  '-0',
  true,
  false,
  [],
  [1],
  ['x'],
  [{}],
  {},
  { a: 1 },
  { a: 'b' },
];

type Node = Record<string, unknown> | unknown[];

/** Every object or array inside value, with itself. */
function containers(value: unknown, out: Node[] = []): Node[] {
  if (value && typeof value === 'object') {
    out.push(value as Node);
    for (const child of Object.values(value)) containers(child, out);
  }
  return out;
}

function mutate(event: Record<string, unknown>, r: () => number): void {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)];
  const target = pick(containers(event));
  const keys = Object.keys(target);
  const op = r();
  if (Array.isArray(target)) {
    if (op < 0.2 && target.length) target.push(structuredClone(target[0]));
    else if (op < 0.3) target.length = 0;
    else if (target.length) target[Math.floor(r() * target.length)] = structuredClone(pick(HOSTILE));
  } else if (op < 0.15 || !keys.length) {
    target[pick(['extra', 'id', 'phone', 'storeId', 'quantity', 'price', 'name'])] = structuredClone(
      pick(HOSTILE),
    );
  } else if (op < 0.3) {
    delete target[pick(keys)];
  } else {
    target[pick(keys)] = structuredClone(pick(HOSTILE));
  }
}

type Verdict = { ok: true; accepted: unknown } | { ok: false; problems: unknown };
function verdict(fn: () => EventEnvelopeDto): Verdict {
  try {
    // As it travels on EVENTS: JSON (where -0 and 0 are one number).
    return { ok: true, accepted: JSON.parse(JSON.stringify(toAcceptedEvent(fn(), 'c-1', 0))) as unknown };
  } catch (error) {
    if (!(error instanceof ContractError)) throw error;
    return { ok: false, problems: error.details };
  }
}

const NOW = Date.parse('2026-11-24T10:05:00Z');

describe('validateEvent: compiled check vs the full class-validator run', () => {
  it('the compiled check accepts every example event', () => {
    const envelope = compileDtoCheck(EventEnvelopeDto);
    for (const [type, event] of Object.entries(exampleEvents())) {
      assert.ok(envelope(event), `${type} envelope`);
      assert.ok(compileDtoCheck(PAYLOAD_DTOS[type as EventType])(event['payload']), `${type} payload`);
    }
  });

  it('gives the same answer as the full run on 10,000 mutated events (seeded)', () => {
    const r = prng(20261124);
    const examples = exampleEvents();
    const types = Object.keys(examples) as EventType[];
    const envelopeCheck = compileDtoCheck(EventEnvelopeDto);
    let accepted = 0;
    let rejected = 0;
    for (let i = 0; i < 10_000; i++) {
      const type = types[i % types.length];
      const event = structuredClone(examples[type]);
      const mutations = 1 + Math.floor(r() * 3);
      for (let m = 0; m < mutations; m++) mutate(event, r);
      if (guardStructure(event).length) continue;
      const fast = verdict(() => validateEvent(event, { nowMs: NOW }));
      const full = verdict(() => validateEventFully(structuredClone(event), { nowMs: NOW }));
      assert.deepEqual(fast, full, `case ${i}: ${JSON.stringify(event)}`);
      if (full.ok) {
        accepted++;
        // Valid events must not need the slow path: the compiled check is as strict, not stricter.
        assert.ok(
          envelopeCheck(event) &&
            compileDtoCheck(PAYLOAD_DTOS[(event as { type: EventType }).type])(event['payload']),
          `case ${i} took the slow path: ${JSON.stringify(event)}`,
        );
      } else rejected++;
    }
    // The mutations must exercise both answers, or this test proves nothing.
    assert.ok(accepted > 500 && rejected > 5_000, `accepted ${accepted}, rejected ${rejected}`);
  });
});
