// A driver that lives outside drivers/: one folder (schemas, driver, simulator) and this module.
// Registered by handing loadConfig the list `[...builtinDrivers, tankDriver]`; no other file knows it.
import net from 'node:net';
import { fail, ok, withTimeout } from '../../../drivers/probe.js';
import { defineDriver } from '../../../drivers/define.js';
import type { Finding, TagConfig, TagProblem } from '../../../drivers/types.js';
import deviceSchema from './device.schema.json' with { type: 'json' };
import simulatorSchema from './simulator.schema.json' with { type: 'json' };
import tagSchema from './tag.schema.json' with { type: 'json' };
import { TankDriver } from './driver.js';
import { startTankSimulator } from './simulator.js';
import type { TankDeviceConfig, TankSimulatorConfig } from './types.js';

/** What the tank holds: a tag naming anything else is a mistake the schema cannot see. */
const TANK_VALUES: ReadonlySet<string> = new Set(['level', 'valve']);

export const tankDriver = defineDriver<TankDeviceConfig, TankSimulatorConfig>(TankDriver, {
  name: 'tank',
  title: 'Tank',
  schemas: { device: deviceSchema, tag: tagSchema, simulator: simulatorSchema },
  checkTag(tag: TagConfig): TagProblem[] {
    return TANK_VALUES.has(tag.address)
      ? []
      : [{ pointer: '/address', message: `the tank has no value "${tag.address}" (level, valve)` }];
  },
  startSimulator: (config, log) => startTankSimulator(config, log),
  probe: async (device, { tags }) => [await probeTank(device, tags[0])],
});

/** `tagwire doctor`'s check: the tank answers a read of the first mapped value. */
async function probeTank(device: TankDeviceConfig, first: TagConfig | undefined): Promise<Finding> {
  const subject = `tank ${device.id}`;
  const socket = net.connect(device.port, device.host);
  try {
    const line = new Promise<string>((resolve, reject) => {
      socket.once('error', reject);
      socket.once('data', (d) => resolve(d.toString().split('\n')[0]!));
    });
    socket.write(`${JSON.stringify({ id: 1, op: 'read', names: [first?.address ?? 'level'] })}\n`);
    const reply = await withTimeout(line, device.timeoutMs, `read from ${device.host}:${device.port}`);
    return ok(subject, `${device.host}:${device.port} answers: ${reply}`);
  } catch (err) {
    return fail(subject, `${device.host}:${device.port}: ${(err as Error).message}`, 'start the tank');
  } finally {
    socket.destroy();
  }
}
