import { SetMetadata } from '@nestjs/common';
import type { Permission } from '@nunchi/access';

/** Metadata key of the permission a route needs (libs/auth's guard reads it). */
export const REQUIRED_PERMISSION = 'nunchi:permission';
/** The value that marks a route as answering anyone (liveness, readiness). */
export const PUBLIC_ROUTE = 'public';

/**
 * The permission a route (or every route of a controller) needs; libs/access says which roles have it. A
 * route that declares none is refused to everyone: forgetting this cannot open a door.
 */
export const Requires = (permission: Permission) => SetMetadata(REQUIRED_PERMISSION, permission);

/** A route anyone may call, credentials or not: only /health and /ready. */
export const Public = () => SetMetadata(REQUIRED_PERMISSION, PUBLIC_ROUTE);
