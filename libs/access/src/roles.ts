/**
 * Who may do what over HTTP (docs/security.md, "Roles"). A caller has one or more roles; a route names the
 * one permission it needs; a role allows a set of permissions. Pure: the guard (libs/auth) and the CLI read it.
 */

export const ROLES = [
  'adapter',
  'marketer',
  'approver',
  'analyst',
  'operator',
  'privacy-officer',
  'admin',
] as const;
export type Role = (typeof ROLES)[number];

/**
 * Every permission a route can require, with whether using it changes something (those are audited).
 * Reads of results and of a customer are separate: a customer's context is personal data.
 */
export const PERMISSIONS = {
  /** send events (POST /v1/events) */
  'events.send': { changes: false },
  /** read campaigns: list, definitions, drafts, history, diff, what decision replicas loaded */
  'campaigns.read': { changes: false },
  /** create and edit drafts, discard them */
  'campaigns.draft': { changes: true },
  /** validate, dry-run tests and simulations (nothing live changes) */
  'campaigns.test': { changes: false },
  /** activate, pause, resume, end, archive, roll back */
  'campaigns.activate': { changes: true },
  /** campaign figures, decisions and their explanations, the console's live figures */
  'results.read': { changes: false },
  /** a customer's profile and context (personal data) */
  'customers.read': { changes: false },
  /** erase a customer */
  'customers.erase': { changes: true },
  /** undo a merge of two customers (docs/identity.md): personal data moved between customers */
  'customers.unlink': { changes: true },
  /** the DLQ and the services' operating figures */
  'operations.read': { changes: false },
  /** replay DLQ entries, and streams by time (`nunchi streams replay`) */
  'dlq.replay': { changes: true },
  /** /metrics, when NUNCHI_METRICS_PUBLIC=0 */
  'metrics.read': { changes: false },
  /** create and revoke API keys */
  'keys.manage': { changes: true },
  /** list API keys (never their secrets) */
  'keys.read': { changes: false },
  /** read the audit log */
  'audit.read': { changes: false },
  /** who am I: any authenticated caller */
  'session.read': { changes: false },
} as const satisfies Record<string, { changes: boolean }>;
export type Permission = keyof typeof PERMISSIONS;

/** What each role may do. admin may do everything; every role may read its own session. */
export const ROLE_PERMISSIONS: Readonly<Record<Role, readonly Permission[]>> = {
  adapter: ['events.send', 'session.read'],
  marketer: ['campaigns.read', 'campaigns.draft', 'campaigns.test', 'results.read', 'session.read'],
  approver: ['campaigns.read', 'campaigns.activate', 'results.read', 'session.read'],
  analyst: ['campaigns.read', 'results.read', 'customers.read', 'session.read'],
  operator: ['operations.read', 'dlq.replay', 'metrics.read', 'results.read', 'session.read'],
  'privacy-officer': ['customers.read', 'customers.erase', 'customers.unlink', 'audit.read', 'session.read'],
  admin: Object.keys(PERMISSIONS) as Permission[],
};

export const isRole = (value: unknown): value is Role =>
  typeof value === 'string' && (ROLES as readonly string[]).includes(value);

/** True when any of the roles allows the permission. */
export function allows(roles: readonly Role[], permission: Permission): boolean {
  return roles.some((role) => ROLE_PERMISSIONS[role].includes(permission));
}

/** Whether a permission's use changes something, so is written to the audit log. */
export const isChange = (permission: Permission): boolean => PERMISSIONS[permission].changes;

/** The roles that allow a permission, for the refusal's message ("needs one of: approver, admin"). */
export const rolesAllowing = (permission: Permission): Role[] =>
  ROLES.filter((role) => ROLE_PERMISSIONS[role].includes(permission));
