import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { dataStepOf, splitStatements } from './migrations.js';

describe('splitStatements', () => {
  it('drops comments and splits on semicolons', () => {
    const text = `-- a comment; with a semicolon\nCREATE TABLE a (x int PRIMARY KEY); // trailing\n\nCREATE TABLE b (\n  y int PRIMARY KEY -- why\n);\n`;
    assert.deepEqual(splitStatements(text), [
      'CREATE TABLE a (x int PRIMARY KEY)',
      'CREATE TABLE b ( y int PRIMARY KEY )',
    ]);
  });
});

describe('dataStepOf', () => {
  it('finds a data step by the file name without its number, so renumbering keeps it', () => {
    assert.equal(dataStepOf('0010_customer_days.cql'), 'customer_days');
    assert.equal(dataStepOf('0042_customer_days.cql'), 'customer_days');
    assert.equal(dataStepOf('0009_campaign_lifecycle.cql'), undefined);
    assert.equal(dataStepOf('0011_constructor.cql'), undefined);
  });
});
