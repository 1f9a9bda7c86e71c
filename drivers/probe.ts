// The findings a driver's doctor probe (DriverModule.probe, run by `tagwire doctor`) reports, and
// their helpers. They sit in drivers/ so a driver probes its devices without importing src/; the
// doctor's other checks use the same ones.
import type { Finding } from './types.js';

export type { Finding, ProbeContext, Status } from './types.js';

export const ok = (subject: string, message: string): Finding => ({ status: 'ok', subject, message });
export const warn = (subject: string, message: string, fix: string): Finding => ({
  status: 'warn',
  subject,
  message,
  fix,
});
export const fail = (subject: string, message: string, fix: string): Finding => ({
  status: 'fail',
  subject,
  message,
  fix,
});

/** Rejects after `ms` with a message naming what timed out. */
export function withTimeout<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}
