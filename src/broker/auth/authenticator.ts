// Who may connect: username/password against scrypt hashes from the config, a verified client
// certificate's CN on listeners that allow it, or nobody (anonymous) where the listener allows it.
import { createHash } from 'node:crypto';
import type { BrokerUser } from '../config.js';
import type { ListenerPolicy } from '../connection.js';
import { Reason } from '../reason-codes.js';
import { verifyPassword } from './password.js';

export interface Credentials {
  username: string | undefined;
  password: Buffer | undefined;
  listener: ListenerPolicy;
  peerCommonName: string | undefined;
}

export type AuthResult = { ok: true; username: string | undefined } | { ok: false; reasonCode: number };

/** Verified (username, password digest) pairs: reconnect storms cost one scrypt per account, not per attempt. */
const CACHE_LIMIT = 1024;

export class Authenticator {
  private readonly users: Map<string, string>;
  private readonly verified = new Map<string, string>();

  constructor(users: readonly BrokerUser[]) {
    this.users = new Map(users.map((u) => [u.username, u.passwordHash]));
  }

  async check(credentials: Credentials): Promise<AuthResult> {
    const { username, password, listener, peerCommonName } = credentials;
    if (username === undefined && listener.certCnAsUsername && peerCommonName !== undefined) {
      return { ok: true, username: peerCommonName };
    }
    if (username === undefined) {
      if (password !== undefined) return { ok: false, reasonCode: Reason.BadUsernameOrPassword };
      return listener.allowAnonymous
        ? { ok: true, username: undefined }
        : { ok: false, reasonCode: Reason.NotAuthorized };
    }
    if (listener.certCnAsUsername && peerCommonName === username && password === undefined) {
      return { ok: true, username };
    }
    const hash = this.users.get(username);
    if (hash === undefined || password === undefined)
      return { ok: false, reasonCode: Reason.BadUsernameOrPassword };
    const digest = createHash('sha256').update(username).update('\0').update(password).digest('base64');
    if (this.verified.get(digest) === hash) return { ok: true, username };
    if (!(await verifyPassword(password.toString('utf8'), hash))) {
      return { ok: false, reasonCode: Reason.BadUsernameOrPassword };
    }
    if (this.verified.size >= CACHE_LIMIT) this.verified.clear();
    this.verified.set(digest, hash);
    return { ok: true, username };
  }
}
