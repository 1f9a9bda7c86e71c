// Password and token checks. Passwords go through the broker's Authenticator (one place: its
// caching, merging and lockout apply to HTTP logins as to MQTT CONNECTs); tokens are checked
// against their scrypt hashes here, with verified and refused tokens remembered so a request costs
// one scrypt at most once per token.
import { createHash } from 'node:crypto';
import type { Authenticator } from '../../broker/auth/authenticator.js';
import { verifyPassword } from '../../broker/auth/password.js';
import type { BrokerUser } from '../../broker/config.js';
import type { HttpToken } from '../../config/types.js';
import type { Identity } from './roles.js';

/**
 * The user's identity when the password is right; undefined for a wrong password, an unknown user
 * or a login the broker's lockout holds back, alike. `address` is the client's: failures count
 * against the username at that address, as for MQTT.
 */
export async function verifyLogin(
  authenticator: Pick<Authenticator, 'verify'>,
  users: readonly BrokerUser[],
  username: string,
  password: string,
  address: string,
): Promise<Identity | undefined> {
  const result = await authenticator.verify(username, password, { address });
  if (!result.ok) return undefined;
  const user = users.find((u) => u.username === username);
  if (!user) return undefined;
  return { kind: 'user', name: username, role: user.role ?? 'viewer' };
}

const CACHE_LIMIT = 1024;

export class TokenVerifier {
  private readonly known = new Map<string, Identity | null>();

  constructor(private readonly tokens: readonly HttpToken[]) {}

  get empty(): boolean {
    return this.tokens.length === 0;
  }

  /** The token's identity, or undefined when it matches no configured token. */
  async verify(token: string): Promise<Identity | undefined> {
    const digest = createHash('sha256').update(token).digest('base64');
    const cached = this.known.get(digest);
    if (cached !== undefined) return cached ?? undefined;
    let found: Identity | null = null;
    for (const entry of this.tokens) {
      if (await verifyPassword(token, entry.tokenHash)) {
        found = { kind: 'token', name: entry.name, role: entry.role };
        break;
      }
    }
    if (this.known.size >= CACHE_LIMIT) this.known.clear();
    this.known.set(digest, found);
    return found ?? undefined;
  }
}
