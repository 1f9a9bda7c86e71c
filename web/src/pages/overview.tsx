// Overview: gateway identity and uptime, each device's health (red with the reason when down),
// bridges with their outbox, broker clients. Devices and bridges are live; the rest is polled.
import { useEffect, useState } from 'preact/hooks';
import { api, type DeviceStatus, type Status } from '../api';
import { formatAge, formatBytes, formatDuration, formatNumber } from '../format';
import { useLive, useNow, useTitle } from '../hooks';
import { live } from '../live';

const STATUS_EVERY_MS = 5000;

function stateClass(state: string): string {
  if (state === 'connected') return 'ok';
  if (state === 'connecting') return 'warn';
  return 'bad';
}

export function Overview() {
  useTitle('Overview');
  useLive('devices', 'bridges', 'tags');
  const now = useNow();
  const [status, setStatus] = useState<{ at: number; status: Status }>();
  const [error, setError] = useState('');

  useEffect(() => {
    let stopped = false;
    const load = () =>
      api<Status>('/api/status')
        .then((s) => !stopped && (setStatus({ at: Date.now(), status: s }), setError('')))
        .catch((err: Error) => !stopped && setError(err.message));
    void load();
    const timer = setInterval(load, STATUS_EVERY_MS);
    return () => {
      stopped = true;
      clearInterval(timer);
    };
  }, []);

  const devices = [...live.devices.values()].sort((a, b) => a.deviceId.localeCompare(b.deviceId));
  const bridges = [...live.bridges.values()].sort((a, b) => a.name.localeCompare(b.name));
  const s = status?.status;
  const uptime = s ? s.uptimeSec + (now - status.at) / 1000 : undefined;
  const drivers = new Map(s?.devices.map((d) => [d.id, d.driver]));

  return (
    <section>
      <h1>Overview</h1>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      <dl class="facts" aria-label="Gateway">
        <div>
          <dt>Gateway</dt>
          <dd data-testid="gateway-id">{s?.id ?? '–'}</dd>
        </div>
        <div>
          <dt>Version</dt>
          <dd>{s?.version ?? '–'}</dd>
        </div>
        <div>
          <dt>Uptime</dt>
          <dd>{uptime === undefined ? '–' : formatDuration(uptime)}</dd>
        </div>
        <div>
          <dt>Broker clients</dt>
          <dd data-testid="broker-clients">{s ? formatNumber(s.broker.clients, 0) : '–'}</dd>
        </div>
        <div class="wide">
          <dt>Listeners</dt>
          <dd>{s?.broker.listeners.join(', ') || '–'}</dd>
        </div>
      </dl>

      <h2>Devices</h2>
      {devices.length === 0 ? (
        <p class="muted">No devices configured.</p>
      ) : (
        <div class="cards">
          {devices.map((d) => (
            <DeviceCard key={d.deviceId} device={d} driver={d.driver ?? drivers.get(d.deviceId)} now={now} />
          ))}
        </div>
      )}

      <h2>Bridges</h2>
      {bridges.length === 0 ? (
        <p class="muted">No bridges configured.</p>
      ) : (
        <div class="table-scroll">
          <table>
            <thead>
              <tr>
                <th>Bridge</th>
                <th>State</th>
                <th>Upstream</th>
                <th class="num">Outbox</th>
                <th class="num">Oldest</th>
                <th class="num">Sent/s</th>
                <th class="num">Dropped</th>
              </tr>
            </thead>
            <tbody>
              {bridges.map((b) => (
                <tr key={b.name} data-testid={`bridge-${b.name}`}>
                  <td>{b.name}</td>
                  <td>
                    <span class={`badge ${stateClass(b.state)}`}>{b.state}</span>
                  </td>
                  <td class="mono">{b.url}</td>
                  <td class="num">
                    {formatNumber(b.outbox.depth, 0)} ({formatBytes(b.outbox.bytes)})
                  </td>
                  <td class="num">
                    {b.outbox.oldestAgeSec == null ? '–' : formatAge(b.outbox.oldestAgeSec * 1000)}
                  </td>
                  <td class="num">{formatNumber(b.sentPerSec, 1)}</td>
                  <td class="num">{formatNumber(b.dropped, 0)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

function DeviceCard({ device: d, driver, now }: { device: DeviceStatus; driver?: string; now: number }) {
  const cls = stateClass(d.state);
  const rate = live.samplesPerSec(d.deviceId);
  return (
    <article class={`card device ${cls}`} data-testid={`device-${d.deviceId}`} data-state={d.state}>
      <header>
        <h3>
          <a href={`/tags?device=${encodeURIComponent(d.deviceId)}`}>{d.deviceId}</a>
        </h3>
        <span class="muted">{driver}</span>
        <span class={`badge ${cls}`} data-testid="state">
          {d.state}
        </span>
      </header>
      {d.state !== 'connected' && d.lastError && (
        <p class="reason" data-testid="reason">
          {d.lastError}
        </p>
      )}
      <dl class="stats">
        <div>
          <dt>Since</dt>
          <dd>{formatAge(now - d.since)}</dd>
        </div>
        <div>
          <dt>Round trip</dt>
          <dd>
            {d.rttMsAvg === undefined ? '–' : `${formatNumber(d.rttMsAvg, 1)} ms`}
            {d.rttMsMax !== undefined && <span class="muted"> (max {formatNumber(d.rttMsMax, 1)})</span>}
          </dd>
        </div>
        <div>
          <dt>Samples/s</dt>
          <dd>{formatNumber(rate, 1)}</dd>
        </div>
        <div>
          <dt>Requests</dt>
          <dd>{formatNumber(d.requests, 0)}</dd>
        </div>
        <div>
          <dt>Errors</dt>
          <dd class={d.errors > 0 ? 'warn-text' : ''}>{formatNumber(d.errors, 0)}</dd>
        </div>
        <div>
          <dt>Timeouts</dt>
          <dd class={d.timeouts > 0 ? 'warn-text' : ''}>{formatNumber(d.timeouts, 0)}</dd>
        </div>
      </dl>
      {d.state === 'connected' && d.lastError && <p class="muted small">Last error: {d.lastError}</p>}
    </article>
  );
}
