import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { splitStatements } from './migrations.js';

describe('splitStatements', () => {
  it('drops comments and splits on semicolons', () => {
    const text = `-- a comment; with a semicolon\nCREATE TABLE a (x int PRIMARY KEY); // trailing\n\nCREATE TABLE b (\n  y int PRIMARY KEY -- why\n);\n`;
    assert.deepEqual(splitStatements(text), ['CREATE TABLE a (x int PRIMARY KEY)', 'CREATE TABLE b ( y int PRIMARY KEY )']);
  });
});
