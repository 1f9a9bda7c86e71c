// GET /api/status: the gateway at a glance; GET /api/bridges: each bridge's state and outbox.
import type { BridgeStatus } from '../../bridge/status.js';
import type { RouteModule } from './route-module.js';

/** The upstream URL without any user or password in it. */
export function safeUrl(url: string): string {
  try {
    const parsed = new URL(url);
    parsed.username = '';
    parsed.password = '';
    return parsed.toString().replace(/\/$/, '');
  } catch {
    return url.replace(/\/\/[^@/]*@/, '//');
  }
}

export function bridgeEntry(b: BridgeStatus): Record<string, unknown> {
  return {
    name: b.name,
    state: b.state,
    connected: b.connected,
    since: b.since,
    url: safeUrl(b.url),
    // Which upstream address is in use (failover), since when, and the last switch with its reason.
    address: b.address,
    ...(b.lastSwitch && { lastSwitch: b.lastSwitch }),
    ...(b.lastError && { lastError: `${b.lastError.kind}: ${b.lastError.message}` }),
    outbox: { depth: b.outbox.messages, bytes: b.outbox.bytes, oldestAgeSec: b.outbox.oldestAgeSec },
    inflight: b.inflight,
    sent: b.sent,
    received: b.received,
    sentPerSec: b.drainRatePerSec,
    dropped: b.dropped,
    droppedBy: b.droppedBy,
  };
}

export const statusRoutes: RouteModule = (app, ctx) => {
  app.get('/api/status', { config: { access: 'viewer' } }, async () => {
    const gateway = ctx.gateway;
    const { config, file } = gateway.config();
    const broker = gateway.broker();
    const wsPaths = config.broker.listeners;
    return {
      id: gateway.id,
      version: ctx.version,
      uptimeSec: Math.floor((Date.now() - gateway.startedAt) / 1000),
      configFile: file,
      broker: {
        listeners: broker.listening().map((l, i) => {
          const host = l.host.includes(':') ? `[${l.host}]` : l.host;
          const path = l.protocol.startsWith('ws') ? (wsPaths[i]?.path ?? '') : '';
          return `${l.protocol}://${host}:${l.port}${path}`;
        }),
        clients: broker.stats().connections,
      },
      devices: gateway.devices().map((d) => ({ id: d.deviceId, driver: d.driver, state: d.state })),
      bridges: gateway.bridges().map((b) => ({ name: b.name, state: b.state })),
    };
  });

  app.get('/api/bridges', { config: { access: 'viewer' } }, async () =>
    ctx.gateway.bridges().map(bridgeEntry),
  );
};
