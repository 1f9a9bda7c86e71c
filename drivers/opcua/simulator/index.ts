// The OPC UA simulator: node-opcua's server with an oven that moves, for the demo, tests and benchmarks.
// node-opcua is imported lazily so the gateway pays for it only when an OPC UA simulator runs.
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { DriverLogger, RunningSimulator } from '../../types.js';
import type { OpcuaSimulatorConfig } from '../config.js';
import { loadOpcua } from '../load.js';
import { buildOvenAddressSpace } from './oven.js';

/** `address` is the endpoint URL. */
export interface RunningOpcuaSimulator extends RunningSimulator {
  endpointUrl: string;
  port: number;
  /** The simulator's PKI folder (own certificate, trusted/rejected client certificates). */
  pkiDir: string;
  /** Fault injection for tests: deletes every subscription behind its clients' backs; returns how many. */
  dropSubscriptions(): number;
  /** Sessions open on the server now, and subscriptions across them (tests look for leaks). */
  openSessions(): { sessions: number; subscriptions: number };
  /** Rounds of load point updates made so far (benchmarks compare it with what clients received). */
  loadRounds(): number;
}

/** A free loopback-or-given-host port, for `port: 0` (node-opcua advertises the configured port). */
async function pickPort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, host, () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

function isAddressInUse(err: unknown): boolean {
  const e = err as { code?: unknown; message?: unknown } | null;
  return e?.code === 'EADDRINUSE' || (typeof e?.message === 'string' && e.message.includes('EADDRINUSE'));
}

export function defaultSimulatorPkiDir(): string {
  return path.join(os.tmpdir(), `tagwire-opcua-sim-pki-${os.userInfo().uid}`);
}

export async function startOpcuaSimulator(
  config: OpcuaSimulatorConfig,
  log: DriverLogger,
  /** How a `port: 0` simulator picks its port (tests hand it a taken one first). */
  pick: (host: string) => Promise<number> = pickPort,
): Promise<RunningOpcuaSimulator> {
  const opcua = await loadOpcua(log);
  const pkiDir = config.pkiDir ?? defaultSimulatorPkiDir();

  const serverCertificateManager = new opcua.OPCUACertificateManager({
    rootFolder: pkiDir,
    automaticallyAcceptUnknownCertificate: config.autoAcceptClientCertificates,
  });
  await serverCertificateManager.initialize();
  // X.509 user identities are checked against a separate trust list beside the channel one.
  const userCertificateManager = new opcua.OPCUACertificateManager({
    rootFolder: path.join(pkiDir, 'users'),
    automaticallyAcceptUnknownCertificate: config.autoAcceptClientCertificates,
  });
  await userCertificateManager.initialize();

  // node-opcua caps a NotificationMessage at 1000 values: with 10k items changing together the
  // benchmark would measure publish round trips, not the gateway. A simulator may be generous.
  opcua.Subscription.maxNotificationPerPublishHighLimit = 50_000;
  const users = new Map(config.users.map((u) => [u.username, u.password]));
  const listenOn = async (port: number) => {
    const server = new opcua.OPCUAServer({
      port,
      host: config.host,
      hostname: config.host,
      alternateHostname: [],
      serverCertificateManager,
      userCertificateManager,
      certificateFile: path.join(pkiDir, 'own', 'certs', 'simulator_certificate.pem'),
      privateKeyFile: path.join(pkiDir, 'own', 'private', 'private_key.pem'),
      securityModes: config.securityModes.map((m) => opcua.MessageSecurityMode[m]),
      securityPolicies: config.securityPolicies.map((p) => opcua.SecurityPolicy[p]),
      allowAnonymous: config.allowAnonymous,
      userManager: { isValidUser: (username: string, password: string) => users.get(username) === password },
      buildInfo: {
        productName: 'tagwire OPC UA simulator',
        manufacturerName: 'tagwire',
        softwareVersion: '1.0.0',
      },
      serverInfo: { applicationUri: `urn:tagwire:simulator:${port}`, productUri: 'urn:tagwire:simulator' },
      maxConnectionsPerEndpoint: 100,
      maxAllowedSessionNumber: 100,
      serverCapabilities: {
        maxMonitoredItemsPerSubscription: config.maxMonitoredItemsPerSubscription,
        operationLimits: { maxNodesPerRead: 5000, maxNodesPerWrite: 1000, maxMonitoredItemsPerCall: 5000 },
      },
    });
    await server.initialize();
    const model = buildOvenAddressSpace(opcua, server, config);
    try {
      await server.start();
    } catch (err) {
      model.stop();
      await server.shutdown(0).catch(() => undefined);
      throw err;
    }
    return { server, model };
  };
  // A picked port may be taken by someone else before node-opcua listens on it: pick again.
  let port = config.port === 0 ? await pick(config.host) : config.port;
  let started: Awaited<ReturnType<typeof listenOn>>;
  for (let attempt = 1; ; attempt++) {
    try {
      started = await listenOn(port);
      break;
    } catch (err) {
      if (config.port !== 0 || attempt >= 5 || !isAddressInUse(err)) throw err;
      port = await pick(config.host);
    }
  }
  const { server, model } = started;
  const endpointUrl = `opc.tcp://${config.host}:${port}`;
  log.info({ endpointUrl, securityModes: config.securityModes }, 'OPC UA simulator listening');

  let closed = false;
  return {
    address: endpointUrl,
    endpointUrl,
    port,
    pkiDir,
    loadRounds: () => model.loadRounds(),
    dropSubscriptions() {
      let dropped = 0;
      for (const session of server.engine.getSessions()) {
        for (const sub of [...session.publishEngine.subscriptions]) {
          if (session.deleteSubscription(sub.id).isGood()) dropped++;
        }
      }
      return dropped;
    },
    openSessions() {
      const sessions = server.engine.getSessions();
      const subscriptions = sessions.reduce((n, s) => n + s.publishEngine.subscriptions.length, 0);
      return { sessions: sessions.length, subscriptions };
    },
    async close() {
      if (closed) return;
      closed = true;
      model.stop();
      await server.shutdown(0);
      await serverCertificateManager.dispose();
      await userCertificateManager.dispose();
    },
  };
}
