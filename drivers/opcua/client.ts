// node-opcua's client as a device needs it: security from the config, our PKI, bounded timeouts, and
// the login (anonymous, username/password, or an X.509 user certificate).
import { createPrivateKey } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { ClientSession, OPCUAClient, UserIdentityInfo } from 'node-opcua';
import type { OpcuaDeviceConfig, OpcuaIdentity } from './config.js';
import type { OpenPki } from './pki.js';

type Opcua = import('./load.js').OpcuaClientApi;

export function createClient(opcua: Opcua, device: OpcuaDeviceConfig, pki: OpenPki): OPCUAClient {
  const mode = device.securityMode;
  const policy = mode === 'None' ? 'None' : device.securityPolicy;
  const client = opcua.OPCUAClient.create({
    applicationName: device.applicationName,
    applicationUri: pki.applicationUri,
    clientName: `tagwire-${device.id}`,
    endpointMustExist: false,
    securityMode: opcua.MessageSecurityMode[mode],
    securityPolicy: opcua.SecurityPolicy[policy],
    certificateFile: pki.paths.certificateFile,
    privateKeyFile: pki.paths.privateKeyFile,
    clientCertificateManager: pki.manager,
    // One quick retry here; the driver's loop owns backoff. After a break node-opcua repairs on its own.
    connectionStrategy: { maxRetry: 1, initialDelay: 200, maxDelay: device.reconnectMaxDelayMs },
    requestedSessionTimeout: device.sessionTimeoutMs,
    keepSessionAlive: true,
    transportTimeout: device.connectTimeoutMs,
    defaultTransactionTimeout: device.requestTimeoutMs,
  });
  client.on('secure_channel_created', releaseLastResponse);
  return client;
}

/** The statistics object a secure channel keeps of its last request, as its `end_transaction` hands it. */
interface TransactionStats {
  request?: unknown;
  response?: unknown;
}

/**
 * node-opcua's secure channel keeps its last request and response (for statistics) until the next
 * transaction completes. With a subscription that last response is a whole publish response, one
 * object per notification: kept alive while the next one is decoded, they outlived the young
 * generation and were promoted to the old space, which then grew as garbage between full GCs
 * (10,000 items every 100 ms: RSS 230-290 MB). Dropping them once the transaction is done lets them
 * die young.
 */
function releaseLastResponse(channel: {
  on(event: 'end_transaction', fn: (s: TransactionStats) => void): void;
}) {
  channel.on('end_transaction', (stats) => {
    stats.request = undefined;
    stats.response = undefined;
  });
}

/** A certificate file as DER: PEM is decoded, anything else is taken as DER already. */
function pemToDer(file: Buffer): Buffer {
  const m = /-----BEGIN CERTIFICATE-----([\s\S]+?)-----END CERTIFICATE-----/.exec(file.toString('latin1'));
  return m ? Buffer.from(m[1]!.replace(/\s+/g, ''), 'base64') : file;
}

export async function identityOf(opcua: Opcua, user: OpcuaIdentity | undefined): Promise<UserIdentityInfo> {
  if (!user) return { type: opcua.UserTokenType.Anonymous };
  if ('username' in user)
    return { type: opcua.UserTokenType.UserName, userName: user.username, password: user.password };
  const certificateData = pemToDer(await fs.readFile(path.resolve(user.certificate)));
  const privateKey = (await fs.readFile(path.resolve(user.privateKey))).toString('utf8');
  // Parsed here so a bad key file fails with a clear error before the session is attempted.
  createPrivateKey(privateKey);
  return { type: opcua.UserTokenType.Certificate, certificateData, privateKey };
}

export interface ServerLimits {
  maxNodesPerRead: number;
  maxMonitoredItemsPerCall: number;
  maxMonitoredItemsPerSubscription: number;
}

/** The server's operation limits; Infinity where it sets none (absent, 0 or unreadable). */
export async function readServerLimits(opcua: Opcua, session: ClientSession): Promise<ServerLimits> {
  const ids = opcua.VariableIds;
  const wanted = [
    ids.Server_ServerCapabilities_OperationLimits_MaxNodesPerRead,
    ids.Server_ServerCapabilities_OperationLimits_MaxMonitoredItemsPerCall,
    ids.Server_ServerCapabilities_MaxMonitoredItemsPerSubscription,
  ];
  const values = await session
    .read(wanted.map((id) => ({ nodeId: opcua.makeNodeId(id), attributeId: opcua.AttributeIds.Value })))
    .catch(() => []);
  const limit = (i: number): number => {
    const dv = values[i];
    const n = Number(dv?.value.value);
    return dv?.statusCode.isGood() && Number.isInteger(n) && n > 0 ? n : Infinity;
  };
  return {
    maxNodesPerRead: limit(0),
    maxMonitoredItemsPerCall: limit(1),
    maxMonitoredItemsPerSubscription: limit(2),
  };
}
