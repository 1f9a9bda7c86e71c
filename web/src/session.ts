// Who is using the console: from /api/me, or the login page when that answers 401.
import { useEffect, useState } from 'preact/hooks';
import { api, ApiError, setUnauthorizedHandler, type Me, type Role } from './api';
import { live } from './live';

export type Session =
  | { kind: 'loading' }
  /** `anonymous`: the gateway lets people in without a login; they chose to log in as someone. */
  | { kind: 'login'; anonymous?: Me }
  | { kind: 'error'; message: string }
  | { kind: 'in'; me: Me };

let current: Session = { kind: 'loading' };
const listeners = new Set<(s: Session) => void>();

function set(next: Session): void {
  current = next;
  for (const fn of listeners) fn(next);
}

export async function refreshSession(): Promise<void> {
  try {
    const me = await api<Me>('/api/me', { quiet401: true });
    set({ kind: 'in', me });
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) set({ kind: 'login' });
    else set({ kind: 'error', message: err instanceof Error ? err.message : String(err) });
  }
}

setUnauthorizedHandler(() => {
  if (current.kind !== 'in') return;
  live.stop();
  set({ kind: 'login' });
});

/** An anonymous user asks to log in (as an admin, say): the login page, with a way back. */
export function showLogin(): void {
  if (current.kind === 'in' && current.me.anonymous) set({ kind: 'login', anonymous: current.me });
}

export function cancelLogin(): void {
  if (current.kind === 'login' && current.anonymous) set({ kind: 'in', me: current.anonymous });
}

export async function login(username: string, password: string): Promise<void> {
  await api('/api/login', { method: 'POST', body: { username, password }, quiet401: true });
  await refreshSession();
}

export async function logout(): Promise<void> {
  await api('/api/logout', { method: 'POST', quiet401: true }).catch(() => undefined);
  live.stop();
  await refreshSession();
}

export function useSession(): Session {
  const [session, setSession] = useState(current);
  useEffect(() => {
    listeners.add(setSession);
    setSession(current);
    return () => void listeners.delete(setSession);
  }, []);
  return session;
}

const RANK: Record<Role, number> = { viewer: 0, operator: 1, admin: 2 };

/** Whether a role includes the rights of another: an admin may do what an operator may. */
export function atLeast(role: Role, needed: Role): boolean {
  return RANK[role] >= RANK[needed];
}
