// One finding of `tagwire doctor`: what was checked, how it went, and what to do about it.
export type Status = 'ok' | 'warn' | 'fail';

export interface Finding {
  status: Status;
  /** What was checked: "config", "port 1883", "modbus press1"... */
  subject: string;
  message: string;
  /** The action that fixes a warn or a fail. */
  fix?: string;
}

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

/** One line: `ok    subject: message`, `fail  subject: message; fix: ...`. */
export function formatFinding(f: Finding): string {
  return `${f.status.padEnd(4)}  ${f.subject}: ${f.message}${f.fix ? `; fix: ${f.fix}` : ''}`;
}

/** 0 all ok, 1 any failure, 2 warnings only. */
export function exitCodeOf(findings: readonly Finding[]): number {
  if (findings.some((f) => f.status === 'fail')) return 1;
  if (findings.some((f) => f.status === 'warn')) return 2;
  return 0;
}

/** Rejects after `ms` with a message naming what timed out. */
export function withTimeout<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}
