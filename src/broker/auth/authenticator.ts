// Who may connect: username/password against scrypt hashes from the config, a verified client
// certificate's CN on listeners that allow it, or nobody (anonymous) where the listener allows it.
//
// A password check costs one scrypt (~100-200 ms of a thread), so checks are:
// - cached: a verified (username, password) is remembered by an HMAC under a key made at start
//   (never the password itself), valid while the user's hash in the config is the same;
// - merged: checks of the same credentials in flight share one scrypt (a reconnect storm);
// - bounded and fair: at most `workers` run, the rest wait in a queue that serves addresses and
//   usernames in turn (check-pool.ts), so a flood waits behind itself;
// - slowed down when failing: locks with exponential backoff (lockout.ts).
// An unknown user costs the same work as a wrong password: a dummy scrypt (at the cost of the
// first user's hash) through the same queue.
import { createHmac, randomBytes } from 'node:crypto';
import type { Logger } from '../../log.js';
import type { BrokerUser, LoginConfig } from '../config.js';
import type { ListenerPolicy } from '../connection.js';
import { Reason } from '../reason-codes.js';
import { CheckPool } from './check-pool.js';
import { Lockout } from './lockout.js';
import { LogLimiter } from './log-limiter.js';
import { unmatchableHash, verifyPassword } from './password.js';

/** Why a login was refused: the credentials are wrong, the caller is locked out, or the queue is full. */
export type LoginRefusal = 'bad-credentials' | 'locked' | 'busy';

/**
 * `retryAfterMs`: when `locked` or `busy`, when to try again; for `bad-credentials`, the lock this
 * failure started (0: none yet).
 */
export type VerifyResult =
  { ok: true; username: string } | { ok: false; reason: LoginRefusal; retryAfterMs: number };

export interface VerifyContext {
  /** The remote address the login comes from (locks and queue turns are per address). */
  address: string;
}

/** What the authenticator did (tests, and whoever watches the broker). */
export interface AuthCounters {
  /** scrypt derivations run (one per check that was neither cached nor merged). */
  scrypts: number;
  cacheHits: number;
  /** Checks that joined an identical one in flight. */
  merged: number;
  refusedLocked: number;
  refusedBusy: number;
  failures: number;
}

export interface Credentials {
  username: string | undefined;
  password: Buffer | undefined;
  listener: ListenerPolicy;
  peerCommonName: string | undefined;
  address: string;
}

export type AuthResult =
  { ok: true; username: string | undefined } | { ok: false; reasonCode: number; why: string };

type Outcome = boolean;

const BUSY_RETRY_MS = 1000;

export class Authenticator {
  readonly counters: AuthCounters = {
    scrypts: 0,
    cacheHits: 0,
    merged: 0,
    refusedLocked: 0,
    refusedBusy: 0,
    failures: 0,
  };
  private users: Map<string, string>;
  /** HMAC of (username, password) -> the hash it was verified against. Map order is recency. */
  private readonly verified = new Map<string, string>();
  private readonly inflight = new Map<string, Promise<Outcome>>();
  private readonly key = randomBytes(32);
  private dummyHash: string;
  private readonly pool: CheckPool;
  private readonly lockout: Lockout;
  private readonly failureLog: LogLimiter;

  constructor(
    users: readonly BrokerUser[],
    private readonly config: LoginConfig,
    private readonly log: Logger,
  ) {
    this.users = new Map(users.map((u) => [u.username, u.passwordHash]));
    this.dummyHash = unmatchableHash(users[0]?.passwordHash);
    this.pool = new CheckPool(config);
    this.lockout = new Lockout(config.lockout);
    this.failureLog = new LogLimiter(10, 10_000);
  }

  /** Checks waiting for a worker and running now. */
  get queue(): { pending: number; active: number } {
    return { pending: this.pool.pending, active: this.pool.active };
  }

  /**
   * Replaces the accounts (a config reload): remembered verifications of a user whose hash
   * changed or who is gone are dropped.
   */
  setUsers(users: readonly BrokerUser[]): void {
    this.users = new Map(users.map((u) => [u.username, u.passwordHash]));
    this.dummyHash = unmatchableHash(users[0]?.passwordHash);
    const live = new Set(this.users.values());
    for (const [digest, hash] of this.verified) if (!live.has(hash)) this.verified.delete(digest);
  }

  /** The MQTT CONNECT decision: certificate, anonymous or password, with the CONNACK reason code. */
  async check(credentials: Credentials): Promise<AuthResult> {
    const { username, password, listener, peerCommonName, address } = credentials;
    if (username === undefined && listener.certCnAsUsername && peerCommonName !== undefined) {
      return { ok: true, username: peerCommonName };
    }
    if (username === undefined) {
      if (password !== undefined)
        return this.anonymousRefused(address, Reason.BadUsernameOrPassword, 'password without a username');
      return listener.allowAnonymous
        ? { ok: true, username: undefined }
        : this.anonymousRefused(address, Reason.NotAuthorized, 'anonymous clients are not allowed here');
    }
    if (listener.certCnAsUsername && peerCommonName === username && password === undefined) {
      return { ok: true, username };
    }
    const result = await this.verify(username, password ?? null, { address });
    if (result.ok) return result;
    switch (result.reason) {
      case 'bad-credentials':
        return { ok: false, reasonCode: Reason.BadUsernameOrPassword, why: 'bad username or password' };
      case 'locked':
        return {
          ok: false,
          reasonCode: Reason.ConnectionRateExceeded,
          why: `too many failed logins: retry in ${Math.ceil(result.retryAfterMs / 1000)} s`,
        };
      case 'busy':
        return { ok: false, reasonCode: Reason.ServerBusy, why: 'too many logins waiting: retry later' };
    }
  }

  /**
   * Verifies a username and password: the one entry point for every login (MQTT and HTTP).
   * A missing password (null) is a wrong one.
   */
  async verify(
    username: string,
    password: Buffer | string | null,
    context: VerifyContext,
  ): Promise<VerifyResult> {
    const { address } = context;
    const now = Date.now();
    const pairLock = this.lockout.pairLockedFor(username, address, now);
    if (pairLock > 0) return this.refuse(username, address, 'locked', pairLock);
    if (password === null) return this.failed(username, address, now);

    const digest = createHmac('sha256', this.key)
      .update(username)
      .update('\u0000')
      .update(password)
      .digest('base64');
    const hash = this.users.get(username);
    if (hash !== undefined && this.verified.get(digest) === hash) {
      this.counters.cacheHits++;
      this.verified.delete(digest);
      this.verified.set(digest, hash);
      this.lockout.success(username, address);
      return { ok: true, username };
    }

    let check = this.inflight.get(digest);
    if (check) {
      this.counters.merged++;
    } else {
      const addressLock = this.lockout.addressLockedFor(address, now);
      if (addressLock > 0) return this.refuse(username, address, 'locked', addressLock);
      if (!this.lockout.reserve(username, address)) {
        return this.refuse(username, address, 'locked', this.config.lockout.baseDelayMs);
      }
      const text = typeof password === 'string' ? password : password.toString('utf8');
      const against = hash ?? this.dummyHash;
      const queued = this.pool.submit(address, username, () => {
        this.counters.scrypts++;
        return verifyPassword(text, against).then((ok) => ok && hash !== undefined);
      });
      if (!queued) {
        this.lockout.release(username, address);
        return this.refuse(username, address, 'busy', BUSY_RETRY_MS);
      }
      check = queued.finally(() => {
        this.inflight.delete(digest);
        this.lockout.release(username, address);
      });
      this.inflight.set(digest, check);
      if (hash !== undefined)
        check.then(
          (ok) => ok && this.remember(digest, username, hash),
          () => undefined, // a failed derivation is a failed check, answered below
        );
    }
    if (!(await check.catch(() => false))) return this.failed(username, address, Date.now());
    // A reload changed the user's hash while the check ran: check against the new one.
    if (this.users.get(username) !== hash) return this.verify(username, password, context);
    this.lockout.success(username, address);
    return { ok: true, username };
  }

  private remember(digest: string, username: string, hash: string): void {
    if (this.users.get(username) !== hash || this.config.cacheSize === 0) return;
    if (this.verified.size >= this.config.cacheSize) {
      const oldest = this.verified.keys().next().value;
      if (oldest !== undefined) this.verified.delete(oldest);
    }
    this.verified.set(digest, hash);
  }

  private failed(username: string, address: string, now: number): VerifyResult {
    this.counters.failures++;
    const lockMs = this.lockout.failure(username, address, now);
    this.failureLog.log((suppressed) =>
      this.log.warn(
        {
          username: printable(username),
          address,
          ...(lockMs > 0 && { lockedForMs: lockMs }),
          ...(suppressed > 0 && { suppressed }),
        },
        'login failed: bad username or password',
      ),
    );
    return { ok: false, reason: 'bad-credentials', retryAfterMs: lockMs };
  }

  private refuse(
    username: string,
    address: string,
    reason: 'locked' | 'busy',
    retryAfterMs: number,
  ): VerifyResult {
    if (reason === 'locked') this.counters.refusedLocked++;
    else this.counters.refusedBusy++;
    this.failureLog.log((suppressed) =>
      this.log.warn(
        { username: printable(username), address, retryAfterMs, ...(suppressed > 0 && { suppressed }) },
        reason === 'locked' ? 'login refused: locked after failed logins' : 'login refused: too many waiting',
      ),
    );
    return { ok: false, reason, retryAfterMs };
  }

  /** A refused client without a username, logged like the others (rate-limited). */
  private anonymousRefused(address: string, reasonCode: number, why: string): AuthResult {
    this.failureLog.log((suppressed) =>
      this.log.warn({ address, ...(suppressed > 0 && { suppressed }) }, `login refused: ${why}`),
    );
    return { ok: false, reasonCode, why };
  }

  /** Forgets idle lock records (called from the broker's periodic sweep). */
  sweep(now: number): void {
    this.lockout.sweep(now);
  }
}

/** A username as logged: bounded, control characters escaped (it comes from the network). */
function printable(username: string): string {
  const short = username.length > 128 ? `${username.slice(0, 128)}...` : username;
  let out = '';
  for (const c of short) {
    const code = c.charCodeAt(0);
    out += code < 0x20 || (code >= 0x7f && code <= 0x9f) ? `\\u${code.toString(16).padStart(4, '0')}` : c;
  }
  return out;
}
