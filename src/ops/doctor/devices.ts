// Doctor checks of the devices: serial ports, Modbus devices answering their first tag, OPC UA
// endpoints reachable with their certificate trusted. Each probe is bounded and closes after itself.
import { X509Certificate } from 'node:crypto';
import { existsSync, statSync } from 'node:fs';
import { readFile, readdir } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import os from 'node:os';
import { parseAddress, type Table } from '../../../drivers/modbus/address.js';
import { exceptionReason, type ReadFunction } from '../../../drivers/modbus/pdu.js';
import { ModbusLink, type LinkState } from '../../../drivers/modbus/transport/link.js';
import { loadOpcua } from '../../../drivers/opcua/load.js';
import { pkiPaths, resolvePkiDir } from '../../../drivers/opcua/pki.js';
import type { ModbusDeviceConfig } from '../../../drivers/modbus/config.js';
import type { OpcuaDeviceConfig } from '../../../drivers/opcua/config.js';
import type { DeviceOf, GatewayConfig, LoadedMapping } from '../../config/types.js';
import { silentLogger } from '../../log.js';
import { accessible } from './system.js';
import { fail, ok, warn, withTimeout, type Finding } from './check.js';

type ModbusDevice = DeviceOf<ModbusDeviceConfig>;
type OpcuaDevice = DeviceOf<OpcuaDeviceConfig>;

const READ_FUNCTION: Record<Table, ReadFunction> = { coil: 1, di: 2, hr: 3, ir: 4 };

/** The name of the group owning a file, from /etc/group. */
async function groupName(gid: number): Promise<string> {
  const text = await readFile('/etc/group', 'utf8').catch(() => '');
  for (const line of text.split('\n')) {
    const [name, , id] = line.split(':');
    if (Number(id) === gid && name) return name;
  }
  return String(gid);
}

/** A serial port exists and this user may read and write it. */
export async function checkSerial(device: ModbusDevice): Promise<Finding | undefined> {
  if (device.transport.type !== 'rtu') return undefined;
  const port = device.transport.path;
  const subject = `serial ${port} (${device.id})`;
  if (!existsSync(port))
    return fail(
      subject,
      'not found',
      'plug the adapter in and check the path: ls -l /dev/serial/by-id/ names USB adapters stably',
    );
  if (!(await accessible(port))) {
    const info = statSync(port);
    const group = await groupName(info.gid);
    const user = os.userInfo().username;
    // Serial adapters are normally root:dialout 0660: membership is the fix. A device its group
    // cannot use needs a udev rule first.
    const groupMayUse = (info.mode & 0o060) === 0o060;
    return fail(
      subject,
      `not readable and writable by ${user} (owner ${info.uid === 0 ? 'root' : info.uid}:${group}, mode ${(info.mode & 0o777).toString(8)})`,
      groupMayUse
        ? `sudo usermod -aG ${group} ${user} (then log in again; the service gets dialout from SupplementaryGroups=dialout)`
        : `give the device to group dialout with mode 0660 (a udev rule: SUBSYSTEM=="tty", GROUP="dialout", MODE="0660"), then add ${user} to dialout`,
    );
  }
  return ok(subject, 'present, readable and writable');
}

/** Connects the way the driver does and reads the first tag of the device once. */
export async function checkModbus(
  device: ModbusDevice,
  mappings: readonly LoadedMapping[],
): Promise<Finding> {
  const subject = `modbus ${device.id}`;
  const where =
    device.transport.type === 'rtu'
      ? device.transport.path
      : `${device.transport.host}:${device.transport.port}`;
  const tag = mappings.filter((m) => m.device === device.id).flatMap((m) => m.tags)[0];
  const link = new ModbusLink(
    device.transport,
    { reconnectMinMs: 60_000, reconnectMaxMs: 60_000 },
    silentLogger(),
  );
  let onState: (state: LinkState, error?: string) => void = () => undefined;
  const listener = { onState: (state: LinkState, error?: string) => onState(state, error) };
  try {
    const connected = new Promise<void>((resolve, reject) => {
      onState = (state, error) => {
        if (state === 'connected') resolve();
        else if (state === 'disconnected') reject(new Error(error ?? 'disconnected'));
      };
    });
    link.attach(listener);
    await withTimeout(connected, device.timeoutMs + 5000, `connect to ${where}`);
  } catch (err) {
    await link.detach(listener).catch(() => undefined);
    return fail(
      subject,
      `cannot connect to ${where}: ${(err as Error).message}`,
      'check the transport host/port (or serial path) and the network to the device',
    );
  }
  try {
    if (!tag)
      return warn(
        subject,
        `connected to ${where}; no tag is mapped to this device`,
        'map its tags in a mapping file',
      );
    const address = parseAddress(tag.address);
    if ('error' in address)
      return fail(subject, `first tag ${tag.name}: ${address.error}`, 'fix the tag address');
    const { response } = await link.request(
      device.unitId,
      { fc: READ_FUNCTION[address.table], address: address.address, quantity: 1 },
      device.timeoutMs,
      'high',
    );
    if (response.kind === 'exception')
      return fail(
        subject,
        `first tag ${tag.name} (${tag.address}): ${exceptionReason(response.code)}`,
        `check the tag's address and the device's unitId (${device.unitId})`,
      );
    if (response.kind === 'invalid')
      return fail(
        subject,
        `first tag ${tag.name}: invalid reply (${response.reason})`,
        'check the transport type (tcp, rtu-over-tcp) and the unitId',
      );
    return ok(subject, `${where} unit ${device.unitId} answers ${tag.name} (${tag.address})`);
  } catch (err) {
    return fail(
      subject,
      `${where} unit ${device.unitId} does not answer ${tag?.name}: ${(err as Error).message}`,
      `check the unitId (${device.unitId}), the wiring/serial settings and timeoutMs`,
    );
  } finally {
    await link.detach(listener).catch(() => undefined);
  }
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
export async function checkOpcua(device: OpcuaDevice, dataDir: string): Promise<Finding> {
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

export async function checkDevices(
  config: GatewayConfig,
  mappings: readonly LoadedMapping[],
): Promise<Finding[]> {
  const findings: Finding[] = [];
  for (const device of config.devices) {
    if (device.enabled === false) {
      findings.push(
        warn(
          `${device.driver} ${device.id}`,
          'disabled: not checked, not polled',
          'set "enabled": true once its settings are right',
        ),
      );
      continue;
    }
    if (device.driver === 'modbus') {
      const modbus = device as unknown as ModbusDevice;
      const serial = await checkSerial(modbus);
      if (serial) findings.push(serial);
      if (serial?.status === 'fail') continue;
      findings.push(await checkModbus(modbus, mappings));
    } else if (device.driver === 'opcua')
      findings.push(await checkOpcua(device as unknown as OpcuaDevice, config.gateway.dataDir));
  }
  return findings;
}
