// Failed logins slow the one who fails: an account as seen from one address (a password guesser),
// and an address that fails with many different usernames (a username sprayer). Each gets a few
// free failures, then a lock that doubles with every further failure, up to a ceiling.
// Locks are per address on purpose: an attacker elsewhere cannot lock a real user out.
import type { LockoutConfig } from '../config.js';

interface PairRecord {
  failures: number;
  lockedUntil: number;
  lastFailureAt: number;
  /** Checks of distinct passwords this pair has queued or running. */
  pending: number;
}

interface AddressRecord {
  usernames: Set<string>;
  lockedUntil: number;
  lastFailureAt: number;
}

/** Records kept at most, so a spray of addresses and names cannot grow memory without bound. */
const RECORD_LIMIT = 100_000;
/** Failing names remembered per address; past a few dozen the lock is at its ceiling anyway. */
const NAMES_PER_ADDRESS_LIMIT = 1000;

export class Lockout {
  private readonly pairs = new Map<string, PairRecord>();
  private readonly addresses = new Map<string, AddressRecord>();

  constructor(private readonly config: LockoutConfig) {}

  private delay(over: number): number {
    return Math.min(this.config.maxDelayMs, this.config.baseDelayMs * 2 ** Math.min(over, 40));
  }

  private pair(username: string, address: string): PairRecord {
    const key = `${address}\u0000${username}`;
    let record = this.pairs.get(key);
    if (!record) {
      if (this.pairs.size >= RECORD_LIMIT) this.sweep(Date.now());
      record = { failures: 0, lockedUntil: 0, lastFailureAt: 0, pending: 0 };
      this.pairs.set(key, record);
    }
    return record;
  }

  /** Milliseconds until `username` may try again from `address`; 0 when it may now. */
  pairLockedFor(username: string, address: string, now: number): number {
    const record = this.pairs.get(`${address}\u0000${username}`);
    return record && record.lockedUntil > now ? record.lockedUntil - now : 0;
  }

  /** Milliseconds until `address` may start new password checks; 0 when it may now. */
  addressLockedFor(address: string, now: number): number {
    const record = this.addresses.get(address);
    return record && record.lockedUntil > now ? record.lockedUntil - now : 0;
  }

  /**
   * Reserves a slot for a new password check of this pair: no more distinct guesses may be in
   * flight than free failures remain, so a burst cannot buy more guesses than the lock allows.
   */
  reserve(username: string, address: string): boolean {
    const record = this.pair(username, address);
    const allowance = Math.max(1, this.config.freeFailures - record.failures);
    if (record.pending >= allowance) return false;
    record.pending++;
    return true;
  }

  release(username: string, address: string): void {
    const record = this.pairs.get(`${address}\u0000${username}`);
    if (record && record.pending > 0) record.pending--;
  }

  /** A failed check; returns the lock it starts (ms), 0 when none. */
  failure(username: string, address: string, now: number): number {
    const record = this.pair(username, address);
    record.failures++;
    record.lastFailureAt = now;
    let locked = 0;
    if (record.failures >= this.config.freeFailures) {
      locked = this.delay(record.failures - this.config.freeFailures);
      record.lockedUntil = Math.max(record.lockedUntil, now + locked);
    }
    let source = this.addresses.get(address);
    if (!source) {
      source = { usernames: new Set(), lockedUntil: 0, lastFailureAt: 0 };
      this.addresses.set(address, source);
    }
    source.lastFailureAt = now;
    // Names are counted once each: a device with a stale password does not lock its neighbours.
    if (!source.usernames.has(username)) {
      if (source.usernames.size < NAMES_PER_ADDRESS_LIMIT) source.usernames.add(username);
      const over = source.usernames.size - this.config.addressFreeUsernames;
      if (over >= 0) source.lockedUntil = Math.max(source.lockedUntil, now + this.delay(over));
    }
    return locked;
  }

  /** A successful check clears the pair (the address keeps its count: one good account must not unlock a sprayer). */
  success(username: string, address: string): void {
    const key = `${address}\u0000${username}`;
    const record = this.pairs.get(key);
    if (record) {
      record.failures = 0;
      record.lockedUntil = 0;
      if (record.pending === 0) this.pairs.delete(key);
    }
  }

  /** Forgets records that are unlocked, idle and quiet for `forgetAfterMs`. */
  sweep(now: number): void {
    const quiet = now - this.config.forgetAfterMs;
    for (const [key, r] of this.pairs) {
      if (r.pending === 0 && r.lockedUntil <= now && r.lastFailureAt <= quiet) this.pairs.delete(key);
    }
    for (const [key, r] of this.addresses) {
      if (r.lockedUntil <= now && r.lastFailureAt <= quiet) this.addresses.delete(key);
    }
  }
}
