import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { projectPath } from '@nunchi/config';
import { readResults, renderTable, TABLE_END, TABLE_START, withTable } from './table.js';

describe('README performance table', () => {
  it('is the one generated from the committed results (npm run bench:table)', () => {
    const readme = readFileSync(projectPath('README.md'), 'utf8');
    assert.equal(withTable(readme, renderTable(readResults())), readme);
  });

  it('replaces only what lies between the markers', () => {
    const readme = `intro\n${TABLE_START}\nold\n${TABLE_END}\noutro\n`;
    assert.equal(withTable(readme, 'new'), `intro\n${TABLE_START}\nnew\n${TABLE_END}\noutro\n`);
    assert.throws(() => withTable('no markers', 'new'), /no <!-- bench:table:start/);
  });
});
