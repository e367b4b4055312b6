import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { Ajv } from 'ajv';
import { projectPath } from '@nunchi/config';
import { exampleEvents } from '../src/example-events.js';
import { buildEventSchemas, schemaFileText } from './event-schemas.js';

const schemas = buildEventSchemas();

describe('published event schemas (docs/schemas)', () => {
  it('are exactly what the DTOs generate (regenerate with: npm run schemas)', () => {
    for (const [path, schema] of schemas) {
      const file = projectPath(path);
      assert.ok(existsSync(file), `${path} is missing: run npm run schemas`);
      assert.equal(
        readFileSync(file, 'utf8'),
        schemaFileText(schema),
        `${path} differs from the DTOs: run npm run schemas`,
      );
    }
    const payloads = readdirSync(projectPath('docs/schemas/payloads')).map(
      (f) => `docs/schemas/payloads/${f}`,
    );
    assert.deepEqual(
      payloads.filter((p) => !schemas.has(p)),
      [],
      'payload schemas of no event type',
    );
  });

  it('accept every example event and refuse what the validator refuses', () => {
    const ajv = new Ajv({ allErrors: true, formats: { 'date-time': true } });
    for (const [path, schema] of schemas) ajv.addSchema(schema, path.replace('docs/schemas/', ''));
    const valid = ajv.getSchema('event.schema.json')!;
    for (const [type, event] of Object.entries(exampleEvents()))
      assert.ok(valid(event), `${type}: ${ajv.errorsText(valid.errors)}`);

    const purchase = exampleEvents().purchase as {
      payload: { items: Array<Record<string, unknown>> };
    } & Record<string, unknown>;
    const refused = (change: (e: typeof purchase) => void) => {
      const copy = structuredClone(purchase);
      change(copy);
      return !valid(copy);
    };
    assert.ok(
      refused((e) => (e['extra'] = 1)),
      'unknown property',
    );
    assert.ok(
      refused((e) => ((e.payload as Record<string, unknown>)['currency'] = 'krw')),
      'lower-case currency',
    );
    assert.ok(
      refused((e) => (e.payload.items[0]['quantity'] = 0)),
      'quantity 0',
    );
    assert.ok(
      refused((e) => (e.payload.items[0]['quantity'] = '2')),
      'quantity as a string',
    );
    assert.ok(
      refused((e) => (e['customer'] = { loyaltyCard: 'LC-1', phone: '010-1234-5678', deviceId: 'd-1' })),
      'three identifiers (two link them, three are refused)',
    );
    assert.ok(
      refused((e) => (e['customer'] = {})),
      'no identifier',
    );
    assert.ok(
      refused((e) => (e['type'] = 'visit')),
      'a purchase payload under type visit',
    );
  });
});
