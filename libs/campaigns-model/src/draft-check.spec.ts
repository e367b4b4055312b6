import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkDraft, idOfSource, problemsText, readSource } from './draft-check.js';
import { actorName, auditLine } from './audit.js';

const good = `id: c1
name: One
trigger: { types: [purchase] }
offers: [{ id: a, title: A, value: 1000 }]
`;
const options = { campaignId: 'c1', timeZone: 'Asia/Seoul' };

void describe('draft check', () => {
  void it('a valid draft gives its definition, with the business time zone filled in', () => {
    const check = checkDraft(good, options);
    assert.deepEqual(check.problems, []);
    assert.equal(check.definition?.id, 'c1');
    assert.deepEqual(check.definition?.schedule, { timezone: 'Asia/Seoul' });
  });

  void it('every problem by path, as the CLI prints them; a version in the file is not one', () => {
    const check = checkDraft(`${good}audiance: "true"\ncondition: "event.amount > 'x'"\n`, options);
    assert.deepEqual(
      check.problems.map((p) => p.path),
      ['audiance', 'condition'],
    );
    assert.match(
      problemsText('c1', check.problems),
      /^campaign "c1" is invalid \(2 problems\):\n {2}audiance: is not a known field \(did you mean audience\?\)\n {2}condition: /,
    );
    assert.deepEqual(checkDraft(`${good}version: 9\n`, options).problems, []);
    assert.equal(checkDraft(`${good}version: 9\n`, options).definition?.version, undefined);
  });

  void it('the id must be the campaign’s; state belongs to the lifecycle; YAML errors and size are problems too', () => {
    assert.deepEqual(checkDraft(good, { ...options, campaignId: 'c2' }).problems, [
      { path: 'id', message: 'must be c2, the campaign this draft belongs to (got c1)' },
    ]);
    assert.deepEqual(
      checkDraft(`${good}state: paused\n`, options).problems.map((p) => p.path),
      ['state'],
    );
    assert.match(checkDraft('id: [', options).problems[0].message, /^YAML: /);
    assert.match(checkDraft('x'.repeat(70_000), options).problems[0].message, /at most 65536 characters/);
  });

  void it('reads the id of a source when it can', () => {
    assert.equal(idOfSource(good), 'c1');
    assert.equal(idOfSource('{"id": "c-2", "name": 1}'), 'c-2');
    assert.equal(idOfSource('id: "bad id"'), undefined);
    assert.equal(idOfSource('id: ['), undefined);
    assert.equal(idOfSource('- a'), undefined);
  });
});

void describe('audit', () => {
  void it('an actor name is cleaned, bounded, and has a fallback', () => {
    assert.equal(actorName('  kim\u0000\n ', 'x'), 'kim');
    assert.equal(actorName(undefined, 'os-user'), 'os-user');
    assert.equal(actorName('\u0007', 'os-user'), 'os-user');
    assert.equal(actorName('김'.repeat(200), 'x').length, 128);
  });

  void it('a line says when, what, which version, the state change, who (unverified) and from where', () => {
    assert.equal(
      auditLine({
        campaignId: 'c1',
        atMs: Date.parse('2026-12-02T04:10:00Z'),
        action: 'activate',
        actor: { name: 'kim', verified: false, origin: 'cli kim@host' },
        fromStatus: 'draft',
        toStatus: 'active',
        version: 1,
        draftRevision: 2,
      }),
      '2026-12-02T04:10:00.000Z  activate       v1    draft → active  (draft rev 2)  by kim (unverified) via cli kim@host',
    );
  });
});

void describe('readSource', () => {
  void it('gives the id and name of anything that parses, nothing otherwise', () => {
    assert.deepEqual(readSource('id: a b\nname: N\noffers: 3'), { id: 'a b', name: 'N' });
    assert.deepEqual(readSource('id: 3'), { id: undefined, name: undefined });
    assert.deepEqual(readSource(': ['), {});
  });
});
