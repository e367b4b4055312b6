import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  allows,
  isChange,
  PERMISSIONS,
  ROLE_PERMISSIONS,
  ROLES,
  rolesAllowing,
  type Permission,
  type Role,
} from './roles.js';

describe('roles and permissions', () => {
  it('each role does its job and no other', () => {
    const may: Record<Role, Permission[]> = {
      adapter: ['events.send'],
      marketer: ['campaigns.read', 'campaigns.draft', 'campaigns.test', 'results.read'],
      approver: ['campaigns.read', 'campaigns.activate', 'results.read'],
      analyst: ['campaigns.read', 'results.read', 'customers.read'],
      operator: ['operations.read', 'dlq.replay', 'metrics.read', 'results.read'],
      'privacy-officer': ['customers.read', 'customers.erase', 'customers.unlink', 'audit.read'],
      admin: Object.keys(PERMISSIONS) as Permission[],
    };
    for (const role of ROLES)
      for (const permission of Object.keys(PERMISSIONS) as Permission[])
        assert.equal(
          allows([role], permission),
          permission === 'session.read' || may[role].includes(permission),
          `${role} ${permission}`,
        );
  });

  it('separates duties: who drafts does not activate, who erases does not send, an adapter reads nothing', () => {
    assert.equal(allows(['marketer'], 'campaigns.activate'), false);
    assert.equal(allows(['approver'], 'campaigns.draft'), false);
    assert.equal(allows(['privacy-officer'], 'events.send'), false);
    assert.equal(allows(['adapter'], 'results.read'), false);
    assert.equal(allows(['operator'], 'customers.erase'), false);
    assert.equal(allows(['analyst'], 'keys.manage'), false);
  });

  it('a caller with several roles may do what any of them may', () => {
    assert.equal(allows(['marketer', 'approver'], 'campaigns.activate'), true);
    assert.equal(allows([], 'session.read'), false);
  });

  it('marks the permissions that change something (the audited ones)', () => {
    const changes = (Object.keys(PERMISSIONS) as Permission[]).filter(isChange).sort();
    assert.deepEqual(changes, [
      'campaigns.activate',
      'campaigns.draft',
      'customers.erase',
      'customers.unlink',
      'dlq.replay',
      'keys.manage',
    ]);
  });

  it('names the roles that allow a permission', () => {
    assert.deepEqual(rolesAllowing('customers.erase'), ['privacy-officer', 'admin']);
    for (const role of ROLES) assert.ok(ROLE_PERMISSIONS[role].length > 0);
  });
});
