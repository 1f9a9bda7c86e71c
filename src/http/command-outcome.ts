// The HTTP status of a command's outcome (as the command router and the audit log name it).
import type { AuditOutcome } from '../mapping/audit.js';

/** 200 ok, 422 refused by a check, 502 the device failed, 504 outcome unknown (it may still apply). */
export function statusOf(outcome: AuditOutcome): 200 | 422 | 502 | 504 {
  switch (outcome) {
    case 'ok':
      return 200;
    case 'refused':
      return 422;
    case 'failed':
      return 502;
    case 'unknown':
      return 504;
  }
}
