// `tagwire audit [-c FILE] [--device ID] [--outcome O] [--since TIME] [--until TIME] [--limit N] [--json]`:
// the command audit log, oldest first. TIME is an ISO date/time or an age such as 30m, 12h, 7d.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { loadConfig } from '../config/load.js';
import { AUDIT_OUTCOMES, AuditLog, type AuditEntry, type AuditOutcome } from '../mapping/audit.js';
import { parseTime } from '../mapping/audit-time.js';
import { reportConfigError } from './config-errors.js';
import { Database } from '../store/db.js';
import { configPath, CONFIG_OPTION, parseCommand } from './options.js';

const USAGE = `usage: tagwire audit [-c FILE | --data DIR] [--device ID] [--outcome O] [--since TIME] [--until TIME] [--limit N] [--json]
  O: ok, refused (by a check, never sent), failed (on the device), unknown (no answer in time: the device may have applied it)
  TIME: an ISO date or time (2026-11-21, 2026-11-21T08:00Z) or an age before now (90s, 30m, 12h, 7d)
`;

/** The outcome column: failures in capitals so they stand out in a long listing. */
const OUTCOME_COLUMN: Record<AuditOutcome, string> = {
  ok: 'ok     ',
  refused: 'REFUSED',
  failed: 'FAILED ',
  unknown: 'UNKNOWN',
};

function parseOutcome(text: string): AuditOutcome {
  const outcome = AUDIT_OUTCOMES.find((o) => o === text);
  if (outcome === undefined)
    throw new Error(`--outcome must be one of ${AUDIT_OUTCOMES.join(', ')}, got "${text}"`);
  return outcome;
}

export function formatEntry(e: AuditEntry): string {
  const who = e.username === undefined ? e.clientId : `${e.clientId} (${e.username})`;
  const target = [e.device ?? '-', e.tag ?? '-'].join(' ');
  return [
    new Date(e.ts).toISOString(),
    OUTCOME_COLUMN[e.outcome],
    e.kind.padEnd(10),
    target,
    who,
    e.topic,
    e.payload,
    '->',
    e.result === '' ? '(no result recorded: the gateway stopped before the command finished)' : e.result,
    `${e.durationMs.toFixed(1)} ms`,
  ].join('  ');
}

async function dataDirOf(config: string | undefined, data: string | undefined): Promise<string> {
  if (data !== undefined) return path.resolve(data);
  const loaded = await loadConfig(configPath(config));
  return loaded.config.gateway.dataDir;
}

export async function main(args: readonly string[]): Promise<number> {
  const parsed = parseCommand(args, {
    name: 'audit',
    usage: USAGE,
    options: {
      ...CONFIG_OPTION,
      data: { type: 'string' },
      device: { type: 'string', short: 'd' },
      outcome: { type: 'string' },
      since: { type: 'string' },
      until: { type: 'string' },
      limit: { type: 'string', short: 'n', default: '1000' },
      json: { type: 'boolean' },
    },
  });
  if (typeof parsed === 'number') return parsed;
  const { values } = parsed;
  let filter;
  try {
    const limit = Number(values.limit);
    if (!Number.isInteger(limit) || limit < 1)
      throw new Error(`--limit must be a positive integer, got "${values.limit}"`);
    filter = {
      limit,
      ...(values.device !== undefined ? { device: values.device } : {}),
      ...(values.outcome !== undefined ? { outcome: parseOutcome(values.outcome) } : {}),
      ...(values.since !== undefined ? { since: parseTime(values.since) } : {}),
      ...(values.until !== undefined ? { until: parseTime(values.until) } : {}),
    };
  } catch (err) {
    process.stderr.write(`audit: ${(err as Error).message}\n`);
    return 1;
  }
  let dataDir: string;
  try {
    dataDir = await dataDirOf(values.config, values.data);
  } catch (err) {
    reportConfigError(err, 'audit: fix the config or give --data DIR');
    return 1;
  }
  const file = path.join(dataDir, 'tagwire.db');
  if (!existsSync(file)) {
    process.stderr.write(`audit: no database at ${file}: the gateway has not run with this data directory\n`);
    return 1;
  }
  const db = await Database.open(file);
  try {
    // Retention of the running gateway's config applies; reading must not delete anything.
    const audit = await AuditLog.open(db, { retentionDays: Number.POSITIVE_INFINITY });
    const entries = await audit.query(filter);
    await audit.close();
    for (const e of entries) process.stdout.write(`${values.json ? JSON.stringify(e) : formatEntry(e)}\n`);
    if (!values.json) process.stderr.write(`${entries.length} command${entries.length === 1 ? '' : 's'}\n`);
    return 0;
  } finally {
    await db.close();
  }
}
