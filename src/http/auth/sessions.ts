// Login sessions: a random id in an HttpOnly cookie, the identity in memory, an idle expiry.
// Sessions end with the process (a restart means logging in again), which keeps nothing secret on disk.
import { randomBytes } from 'node:crypto';
import type { Identity } from './roles.js';

interface Session {
  identity: Identity;
  lastSeen: number;
}

/** The cookie that carries the session id. */
export const SESSION_COOKIE = 'tagwire_session';

/** Bounds memory against a login flood; the oldest sessions go first. */
const MAX_SESSIONS = 10_000;

export class SessionStore {
  private readonly sessions = new Map<string, Session>();
  private readonly sweep: NodeJS.Timeout;

  constructor(private readonly idleMs: number) {
    this.sweep = setInterval(() => this.expire(Date.now()), Math.min(idleMs, 60_000));
    this.sweep.unref();
  }

  create(identity: Identity, now = Date.now()): string {
    if (this.sessions.size >= MAX_SESSIONS) {
      const oldest = this.sessions.keys().next().value;
      if (oldest !== undefined) this.sessions.delete(oldest);
    }
    const id = randomBytes(32).toString('base64url');
    this.sessions.set(id, { identity, lastSeen: now });
    return id;
  }

  /** The session's identity, its idle clock restarted; undefined when unknown or expired. */
  touch(id: string, now = Date.now()): Identity | undefined {
    const session = this.sessions.get(id);
    if (!session) return undefined;
    if (now - session.lastSeen > this.idleMs) {
      this.sessions.delete(id);
      return undefined;
    }
    session.lastSeen = now;
    // Re-inserted so the map stays in last-use order for the bound above.
    this.sessions.delete(id);
    this.sessions.set(id, session);
    return session.identity;
  }

  /** Whether the session still exists and is not idle-expired (without counting as activity). */
  valid(id: string, now = Date.now()): boolean {
    const session = this.sessions.get(id);
    return session !== undefined && now - session.lastSeen <= this.idleMs;
  }

  /** For long-lived answers: a check that is false once this session has ended (no session: always true). */
  holds(id: string | null): () => boolean {
    return id === null ? () => true : () => this.valid(id);
  }

  end(id: string): void {
    this.sessions.delete(id);
  }

  close(): void {
    clearInterval(this.sweep);
    this.sessions.clear();
  }

  private expire(now: number): void {
    for (const [id, session] of this.sessions) {
      if (now - session.lastSeen > this.idleMs) this.sessions.delete(id);
    }
  }
}
