// GET /api/audit (admin): the command audit log, newest first, as JSON or (Accept: text/csv) CSV.
import { parseTime } from '../../mapping/audit-time.js';
import { parseSet } from '../../mapping/command-payload.js';
import { AUDIT_OUTCOMES, type AuditEntry, type AuditOutcome } from '../../mapping/audit.js';
import { errorBody } from '../errors.js';
import type { RouteModule } from './route-module.js';

const query = {
  type: 'object',
  properties: {
    device: { type: 'string', minLength: 1 },
    since: { type: 'string', minLength: 1 },
    until: { type: 'string', minLength: 1 },
    outcome: { enum: AUDIT_OUTCOMES },
    limit: { type: 'integer', minimum: 1, maximum: 10_000, default: 1000 },
  },
} as const;

interface AuditRow {
  ts: number;
  device: string | null;
  tag: string | null;
  identity: string;
  username?: string;
  kind: AuditEntry['kind'];
  value?: unknown;
  outcome: AuditOutcome;
  error?: string;
  requestId?: string;
  durationMs: number;
}

function toRow(e: AuditEntry): AuditRow {
  let result: { ok?: boolean; error?: string; value?: unknown; requestId?: string } = {};
  try {
    result = JSON.parse(e.result) as typeof result;
  } catch {
    result = { ok: e.ok };
  }
  const asked = e.kind === 'set' ? parseSet(Buffer.from(e.payload)) : undefined;
  const row: AuditRow = {
    ts: e.ts,
    device: e.device ?? null,
    tag: e.tag ?? null,
    identity: e.clientId,
    kind: e.kind,
    outcome: e.outcome,
    durationMs: Math.round(e.durationMs * 10) / 10,
  };
  if (e.username !== undefined) row.username = e.username;
  if (asked?.ok) row.value = asked.command.value;
  else if (e.kind === 'get' && result.value !== undefined) row.value = result.value;
  if (result.error !== undefined) row.error = result.error;
  if (result.requestId !== undefined) row.requestId = result.requestId;
  return row;
}

/** One CSV cell: quoted when needed, and never read as a formula by a spreadsheet. */
function cell(value: unknown): string {
  if (value === undefined || value === null) return '';
  let text = typeof value === 'string' ? value : JSON.stringify(value);
  if (/^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\n\r]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

const COLUMNS = [
  'ts',
  'device',
  'tag',
  'identity',
  'kind',
  'value',
  'outcome',
  'error',
  'requestId',
  'durationMs',
] as const;

function csv(rows: readonly AuditRow[]): string {
  const lines = [COLUMNS.join(',')];
  for (const r of rows) {
    lines.push(COLUMNS.map((c) => (c === 'ts' ? new Date(r.ts).toISOString() : cell(r[c]))).join(','));
  }
  return lines.join('\r\n') + '\r\n';
}

export const auditRoutes: RouteModule = (app, ctx) => {
  app.get<{
    Querystring: { device?: string; since?: string; until?: string; outcome?: AuditOutcome; limit: number };
  }>(
    '/api/audit',
    { config: { access: 'admin' }, schema: { querystring: query } },
    async (request, reply) => {
      const { device, outcome, limit } = request.query;
      let since: number | undefined;
      let until: number | undefined;
      try {
        const time = (t: string | undefined) =>
          t === undefined ? undefined : /^\d+$/.test(t) ? Number(t) : parseTime(t);
        since = time(request.query.since);
        until = time(request.query.until);
      } catch (err) {
        return reply.code(400).send(errorBody(`query: ${(err as Error).message}`));
      }
      const entries = await ctx.gateway.audit({
        ...(device !== undefined && { device }),
        ...(since !== undefined && { since }),
        ...(until !== undefined && { until }),
        ...(outcome !== undefined && { outcome }),
        limit,
      });
      const rows = entries.reverse().map(toRow);
      const accept = request.headers.accept ?? '';
      if (/\btext\/csv\b/.test(accept)) {
        return reply
          .type('text/csv; charset=utf-8')
          .header('content-disposition', 'attachment; filename="tagwire-audit.csv"')
          .send(csv(rows));
      }
      return rows;
    },
  );
};
