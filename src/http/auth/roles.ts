// Roles and who may do what: each role includes the rights of the ones before it.
import type { HttpRole } from '../../config/types.js';

export type { HttpRole } from '../../config/types.js';

const RANK: Record<HttpRole, number> = { viewer: 0, operator: 1, admin: 2 };

/** What a route needs: `public` (no login: health, the login call itself) or at least a role. */
export type Access = 'public' | HttpRole;

export function roleAllows(role: HttpRole, needed: HttpRole): boolean {
  return RANK[role] >= RANK[needed];
}

/** Who made a request. `clientId` is how commands and the audit log name it. */
export interface Identity {
  kind: 'user' | 'token' | 'anonymous';
  /** Username, token name, or "anonymous". */
  name: string;
  role: HttpRole;
}

/** The audit identity of an HTTP request: `http:<username>`, `http:token:<name>`, `http:anonymous`. */
export function auditIdentity(who: Identity): { clientId: string; username?: string } {
  switch (who.kind) {
    case 'user':
      return { clientId: `http:${who.name}`, username: who.name };
    case 'token':
      return { clientId: `http:token:${who.name}` };
    case 'anonymous':
      return { clientId: 'http:anonymous' };
  }
}

/** The username the broker's ACL knows this identity by (tokens by their name; anonymous by none). */
export function aclUsername(who: Identity): string | undefined {
  return who.kind === 'anonymous' ? undefined : who.name;
}
