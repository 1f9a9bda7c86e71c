// One finding of `tagwire doctor`: what was checked, how it went, and what to do about it. The
// finding itself is drivers/probe.ts's, so the drivers' probes report in the same shape.
import type { Finding } from '../../../drivers/types.js';

export { fail, ok, warn, type Finding, type Status } from '../../../drivers/probe.js';

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
