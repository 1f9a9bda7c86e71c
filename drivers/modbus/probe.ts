// The doctor's probe of a Modbus device (`tagwire doctor`): its serial port present and usable, then
// a connection made the way the driver makes it and the first mapped tag read once. Bounded, and
// closes after itself.
import { existsSync, statSync } from 'node:fs';
import { access, constants, readFile } from 'node:fs/promises';
import os from 'node:os';
import { fail, ok, warn, withTimeout, type Finding, type ProbeContext } from '../probe.js';
import type { DriverLogger } from '../types.js';
import { parseAddress, type Table } from './address.js';
import type { ModbusDeviceConfig } from './config.js';
import { exceptionReason, type ReadFunction } from './pdu.js';
import { ModbusLink, type LinkState } from './transport/link.js';

const READ_FUNCTION: Record<Table, ReadFunction> = { coil: 1, di: 2, hr: 3, ir: 4 };

const quiet: DriverLogger = { debug() {}, info() {}, warn() {}, error() {}, child: () => quiet };

/** The serial port check, then (unless the port fails) the device's answer to its first tag. */
export async function probeModbus(device: ModbusDeviceConfig, context: ProbeContext): Promise<Finding[]> {
  const serial = await checkSerial(device);
  if (serial?.status === 'fail') return [serial];
  const answer = await checkModbus(device, context);
  return serial ? [serial, answer] : [answer];
}

/** Readable and writable by this process (the user the check runs as). */
function accessible(file: string): Promise<boolean> {
  return access(file, constants.R_OK | constants.W_OK).then(
    () => true,
    () => false,
  );
}

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
async function checkSerial(device: ModbusDeviceConfig): Promise<Finding | undefined> {
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
async function checkModbus(device: ModbusDeviceConfig, context: ProbeContext): Promise<Finding> {
  const subject = `modbus ${device.id}`;
  const where =
    device.transport.type === 'rtu'
      ? device.transport.path
      : `${device.transport.host}:${device.transport.port}`;
  const tag = context.tags[0];
  const link = new ModbusLink(device.transport, { reconnectMinMs: 60_000, reconnectMaxMs: 60_000 }, quiet);
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
