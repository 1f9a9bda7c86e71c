// The doctor's probe of an OPC UA device (`tagwire doctor`): the endpoint reachable, answering as an
// OPC UA server, offering the configured security, and its certificate trusted. Bounded, and closes
// after itself.
import { X509Certificate } from 'node:crypto';
import { readFile, readdir } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { fail, ok, warn, withTimeout, type Finding, type ProbeContext } from '../probe.js';
import type { OpcuaDeviceConfig } from './config.js';
import { loadOpcua } from './load.js';
import { pkiPaths, resolvePkiDir } from './pki.js';

export async function probeOpcua(device: OpcuaDeviceConfig, context: ProbeContext): Promise<Finding[]> {
  return [await checkOpcua(device, context.dataDir)];
}

function tcpReachable(host: string, port: number, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host, port });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no connection within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.destroy();
      resolve();
    });
    socket.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

/** SHA-1 thumbprint (lower-case hex) of the first certificate of a DER chain. */
function thumbprintOf(der: Buffer): string {
  // A DER SEQUENCE with a two-byte length: the first certificate of a concatenated chain.
  const first = der[0] === 0x30 && der[1] === 0x82 ? der.subarray(0, der.readUInt16BE(2) + 4) : der;
  return new X509Certificate(first).fingerprint.replace(/:/g, '').toLowerCase();
}

async function thumbprintsIn(dir: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const name of await readdir(dir).catch(() => [] as string[])) {
    try {
      const cert = new X509Certificate(await readFile(path.join(dir, name)));
      out.set(cert.fingerprint.replace(/:/g, '').toLowerCase(), name);
    } catch {
      // not a certificate
    }
  }
  return out;
}

/** The endpoint answers, offers the configured security, and its certificate is trusted. */
async function checkOpcua(device: OpcuaDeviceConfig, dataDir: string): Promise<Finding> {
  const subject = `opcua ${device.id}`;
  const url = new URL(device.endpointUrl);
  const host = url.hostname;
  const port = Number(url.port || 4840);
  try {
    await tcpReachable(host, port, device.connectTimeoutMs);
  } catch (err) {
    return fail(
      subject,
      `cannot reach ${host}:${port}: ${(err as Error).message}`,
      'check endpointUrl and the network to the server',
    );
  }
  const opcua = await loadOpcua();
  const client = opcua.OPCUAClient.create({
    endpointMustExist: false,
    connectionStrategy: { maxRetry: 0, initialDelay: 100, maxDelay: 200 },
    transportTimeout: device.connectTimeoutMs,
  });
  let endpoints;
  try {
    await withTimeout(client.connect(device.endpointUrl), device.connectTimeoutMs + 5000, 'OPC UA hello');
    endpoints = await withTimeout(client.getEndpoints(), device.requestTimeoutMs, 'GetEndpoints');
  } catch (err) {
    return fail(
      subject,
      `${device.endpointUrl} does not answer as an OPC UA server: ${(err as Error).message}`,
      'check endpointUrl (port, path)',
    );
  } finally {
    await client.disconnect().catch(() => undefined);
  }
  const mode = opcua.MessageSecurityMode[device.securityMode];
  const policyUri =
    device.securityMode === 'None' ? opcua.SecurityPolicy.None : opcua.SecurityPolicy[device.securityPolicy];
  const endpoint = endpoints.find((e) => e.securityMode === mode && e.securityPolicyUri === policyUri);
  if (!endpoint)
    return fail(
      subject,
      `the server offers no ${device.securityMode}${device.securityMode === 'None' ? '' : `/${device.securityPolicy}`} endpoint`,
      `set securityMode/securityPolicy to one it offers (tagwire browse ${device.endpointUrl} lists them)`,
    );
  if (device.securityMode === 'None') return ok(subject, `${device.endpointUrl} answers (security None)`);
  const pki = pkiPaths(resolvePkiDir(dataDir, device.pkiDir));
  const der = endpoint.serverCertificate;
  if (!der || der.length === 0)
    return fail(
      subject,
      'the server sent no certificate for a secure endpoint',
      'check the server configuration',
    );
  const thumbprint = thumbprintOf(der);
  const trusted = await thumbprintsIn(pki.trusted);
  const rejected = await thumbprintsIn(pki.rejected);
  if (trusted.has(thumbprint))
    return ok(
      subject,
      `${device.endpointUrl} answers; its certificate ${thumbprint.slice(0, 16)} is trusted`,
    );
  const fileName = rejected.get(thumbprint);
  if (fileName)
    return fail(
      subject,
      `the server certificate ${thumbprint.slice(0, 16)} is in the rejected folder`,
      `if it is your server's: tagwire pki trust ${fileName}`,
    );
  return warn(
    subject,
    `the server certificate ${thumbprint.slice(0, 16)} is not trusted yet`,
    `start the gateway once (the certificate lands in ${pki.rejected}), then tagwire pki trust ${thumbprint.slice(0, 16)}`,
  );
}
