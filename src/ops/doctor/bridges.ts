// Doctor check of each bridge's upstream: reachable, and over TLS with a certificate that verifies
// against the configured CA (the same TLS options the bridge uses).
import { readFile } from 'node:fs/promises';
import net from 'node:net';
import tls from 'node:tls';
import { upstreamAddresses, type BridgeConfig, type UpstreamAddress } from '../../bridge/config.js';
import { fail, ok, warn, type Finding } from './check.js';

const DEFAULT_PORTS: Record<string, number> = { 'mqtt:': 1883, 'mqtts:': 8883, 'ws:': 80, 'wss:': 443 };

function connect(options: { host: string; port: number; timeoutMs: number; tls?: tls.ConnectionOptions }) {
  return new Promise<tls.TLSSocket | net.Socket>((resolve, reject) => {
    const socket = options.tls
      ? tls.connect({ host: options.host, port: options.port, ...options.tls })
      : net.connect({ host: options.host, port: options.port });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no connection within ${options.timeoutMs} ms`));
    }, options.timeoutMs);
    socket.once(options.tls ? 'secureConnect' : 'connect', () => {
      clearTimeout(timer);
      resolve(socket);
    });
    socket.once('error', (err) => {
      clearTimeout(timer);
      socket.destroy();
      reject(err);
    });
  });
}

/** One upstream address of a bridge (a bridge with failover has several, each checked). */
export async function checkUpstream(
  bridge: BridgeConfig,
  upstream: UpstreamAddress,
  subject: string,
): Promise<Finding> {
  const url = new URL(upstream.url);
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const port = Number(url.port || DEFAULT_PORTS[url.protocol] || 1883);
  const secure = url.protocol === 'mqtts:' || url.protocol === 'wss:';
  const timeoutMs = bridge.connectTimeoutSec * 1000;
  if (!secure) {
    try {
      (await connect({ host, port, timeoutMs })).destroy();
    } catch (err) {
      return fail(
        subject,
        `cannot reach ${host}:${port}: ${(err as Error).message}`,
        'check the url and the network (firewall, DNS) to the upstream broker',
      );
    }
    return warn(
      subject,
      `${host}:${port} reachable, without TLS`,
      'use mqtts:// (or wss://) for an upstream outside this network',
    );
  }
  const options: tls.ConnectionOptions = {
    servername: upstream.tls?.servername ?? (net.isIP(host) ? undefined : host),
    rejectUnauthorized: false, // decided below, to say why a certificate does not verify
  };
  try {
    if (upstream.tls?.ca) options.ca = await readFile(upstream.tls.ca);
    if (upstream.tls?.cert) options.cert = await readFile(upstream.tls.cert);
    if (upstream.tls?.key) options.key = await readFile(upstream.tls.key);
    if (upstream.tls?.passphrase) options.passphrase = upstream.tls.passphrase;
  } catch (err) {
    return fail(
      subject,
      `cannot read a TLS file: ${(err as Error).message}`,
      `check bridges[].tls paths (relative to the config's folder)`,
    );
  }
  let socket: tls.TLSSocket;
  try {
    socket = (await connect({ host, port, timeoutMs, tls: options })) as tls.TLSSocket;
  } catch (err) {
    return fail(
      subject,
      `cannot reach ${host}:${port} over TLS: ${(err as Error).message}`,
      'check the url, the port and the network to the upstream broker',
    );
  }
  const authorized = socket.authorized;
  const why = socket.authorizationError;
  const identityError = tls.checkServerIdentity(options.servername ?? host, socket.getPeerCertificate());
  socket.destroy();
  if (upstream.tls?.rejectUnauthorized === false)
    return warn(
      subject,
      `${host}:${port} reachable; TLS verification is turned off`,
      'set tls.ca to the upstream CA and remove rejectUnauthorized: false',
    );
  if (!authorized)
    return fail(
      subject,
      `${host}:${port}: the TLS certificate does not verify (${String(why)})`,
      "set bridges[].tls.ca to the CA that signed the upstream's certificate",
    );
  if (identityError)
    return fail(
      subject,
      `${host}:${port}: ${identityError.message}`,
      'connect by the name in the certificate, or set tls.servername',
    );
  return ok(subject, `${host}:${port} reachable, TLS certificate valid`);
}

export async function checkBridges(bridges: readonly BridgeConfig[]): Promise<Finding[]> {
  const checks = bridges.flatMap((bridge) => {
    const upstreams = upstreamAddresses(bridge);
    return upstreams.map((upstream) =>
      checkUpstream(
        bridge,
        upstream,
        upstreams.length > 1 ? `bridge ${bridge.name} address ${upstream.index}` : `bridge ${bridge.name}`,
      ),
    );
  });
  return Promise.all(checks);
}
