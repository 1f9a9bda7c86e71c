// The command audit log (admin): who wrote what, when, and what came of it; filters by device,
// outcome and time; CSV export of what the filters select.
import { useEffect, useState } from 'preact/hooks';
import { api, ApiError, type AuditRow } from '../api';
import { formatDateTime, formatValue } from '../format';
import { useLive, useTitle } from '../hooks';
import { live } from '../live';

const LIMIT = 500;
const EXPORT_LIMIT = 10_000;

interface Filters {
  device: string;
  outcome: string;
  since: string;
  until: string;
}

function query(f: Filters, limit = LIMIT): string {
  const q = new URLSearchParams();
  if (f.device) q.set('device', f.device);
  if (f.outcome) q.set('outcome', f.outcome);
  // datetime-local inputs are in the user's local time; the API takes epoch milliseconds.
  if (f.since) q.set('since', String(new Date(f.since).getTime()));
  if (f.until) q.set('until', String(new Date(f.until).getTime()));
  q.set('limit', String(limit));
  return q.toString();
}

export function Audit() {
  useTitle('Audit');
  useLive('devices');
  const [filters, setFilters] = useState<Filters>({ device: '', outcome: '', since: '', until: '' });
  const [rows, setRows] = useState<AuditRow[]>();
  const [error, setError] = useState('');
  const [reload, setReload] = useState(0);

  useEffect(() => {
    let stale = false;
    api<AuditRow[]>(`/api/audit?${query(filters)}`)
      .then((r) => {
        if (stale) return;
        setRows(r);
        setError('');
      })
      .catch((err: Error) => !stale && setError(err.message));
    return () => {
      stale = true;
    };
  }, [filters, reload]);

  async function exportCsv() {
    const res = await fetch(`/api/audit?${query(filters, EXPORT_LIMIT)}`, {
      headers: { accept: 'text/csv' },
    });
    if (!res.ok) {
      const body = (await res.json().catch(() => ({}))) as { error?: string };
      setError(new ApiError(body.error ?? `the gateway answered ${res.status}`, res.status, body).message);
      return;
    }
    const url = URL.createObjectURL(await res.blob());
    const a = document.createElement('a');
    a.href = url;
    a.download = `tagwire-audit-${new Date().toISOString().slice(0, 19).replace(/:/g, '-')}.csv`;
    a.click();
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
  }

  const set = (key: keyof Filters) => (e: Event) =>
    setFilters({ ...filters, [key]: (e.currentTarget as HTMLInputElement).value });
  const outcomes = new Set([
    'ok',
    'refused',
    'device-error',
    'unknown',
    ...(rows ?? []).map((r) => r.outcome),
  ]);
  return (
    <section>
      <h1>Audit</h1>
      <form class="toolbar wrap" onSubmit={(e) => e.preventDefault()} aria-label="Filters">
        <label>
          Device
          <select aria-label="Device" value={filters.device} onChange={set('device')}>
            <option value="">all</option>
            {[...live.devices.keys()].sort().map((d) => (
              <option key={d}>{d}</option>
            ))}
          </select>
        </label>
        <label>
          Outcome
          <select aria-label="Outcome" value={filters.outcome} onChange={set('outcome')}>
            <option value="">all</option>
            {[...outcomes].map((o) => (
              <option key={o}>{o}</option>
            ))}
          </select>
        </label>
        <label>
          From
          <input type="datetime-local" step={1} value={filters.since} onChange={set('since')} />
        </label>
        <label>
          To
          <input type="datetime-local" step={1} value={filters.until} onChange={set('until')} />
        </label>
        <button type="button" onClick={() => setReload((n) => n + 1)}>
          Refresh
        </button>
        <button type="button" onClick={() => void exportCsv()}>
          Export CSV
        </button>
      </form>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      {rows && rows.length === 0 && <p class="muted">No command matches.</p>}
      {rows && rows.length > 0 && (
        <div class="table-scroll">
          <table data-testid="audit-table">
            <thead>
              <tr>
                <th>Time</th>
                <th>Device</th>
                <th>Tag</th>
                <th>Who</th>
                <th class="num">Value</th>
                <th>Outcome</th>
                <th>Error</th>
              </tr>
            </thead>
            <tbody>
              {rows.map((r, i) => (
                <tr key={`${r.ts}-${i}`} class={r.outcome === 'ok' ? '' : 'row-bad'}>
                  <td>{formatDateTime(r.ts)}</td>
                  <td>{r.device}</td>
                  <td>{r.tag}</td>
                  <td class="mono">{r.identity}</td>
                  <td class="num">{formatValue(r.value)}</td>
                  <td>
                    <span class={`badge ${r.outcome === 'ok' ? 'ok' : 'bad'}`}>{r.outcome}</span>
                  </td>
                  <td>{r.error ?? ''}</td>
                </tr>
              ))}
            </tbody>
          </table>
          {rows.length === LIMIT && (
            <p class="muted small">The newest {LIMIT} rows; narrow the filters or export for more.</p>
          )}
        </div>
      )}
    </section>
  );
}
