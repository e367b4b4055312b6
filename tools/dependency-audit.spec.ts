import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fails, readAudit } from './dependency-audit.js';

describe('dependency audit (tools/dependency-audit.ts)', () => {
  it('reads a report: the counts by severity and one line per vulnerable package', () => {
    const report = {
      auditReportVersion: 2,
      vulnerabilities: {
        'some-lib': {
          severity: 'high',
          range: '<1.2.3',
          via: [{ title: 'Prototype pollution in some-lib' }, 'other-lib'],
        },
      },
      metadata: { vulnerabilities: { info: 0, low: 0, moderate: 1, high: 1, critical: 0, total: 2 } },
    };
    const outcome = readAudit(JSON.stringify(report), '');
    assert.ok(outcome.ran);
    assert.deepEqual(outcome.counts, { info: 0, low: 0, moderate: 1, high: 1, critical: 0 });
    assert.deepEqual(outcome.findings, ['high  some-lib <1.2.3  — Prototype pollution in some-lib']);
    assert.equal(fails(outcome.counts, 'high'), true);
    assert.equal(fails(outcome.counts, 'critical'), false);
    assert.equal(fails(outcome.counts, 'none'), false);
  });

  it('says the audit did not run when the endpoint answers with an error, as a registry mirror does', () => {
    // What npm 10 prints where the registry has no audit API (this project's development machines).
    const stdout = JSON.stringify({
      message: '405 Method Not Allowed - POST https://registry.example/-/npm/v1/security/advisories/bulk',
      statusCode: 405,
      error: { summary: '', detail: '' },
    });
    assert.deepEqual(readAudit(stdout, 'npm error audit endpoint returned an error'), {
      ran: false,
      why: '405 Method Not Allowed - POST https://registry.example/-/npm/v1/security/advisories/bulk',
    });
    assert.deepEqual(readAudit('', 'npm error code ENOTFOUND\nnpm error network request failed'), {
      ran: false,
      why: 'npm error code ENOTFOUND',
    });
  });

  it('passes a clean report', () => {
    const clean = readAudit(
      JSON.stringify({ vulnerabilities: {}, metadata: { vulnerabilities: { total: 0 } } }),
      '',
    );
    assert.ok(clean.ran && !fails(clean.counts, 'low'));
  });
});
