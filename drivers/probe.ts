// The findings a driver's doctor probe (DriverModule.probe, run by `tagwire doctor`) reports, and
// their helpers. They sit in drivers/ so a driver probes its devices without importing src/; the
// doctor's other checks use the same ones.
import type { Finding } from './types.js';

export type { Finding, ProbeContext, Status } from './types.js';
export { withTimeout } from './timeout.js';

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
