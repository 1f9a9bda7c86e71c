// Deny rules on commands, end to end: a user allowed to command a device except one tag. The
// denied command never reaches the command router (PUBACK 0x87, nothing written, no result, no
// audit row); the allowed one is written and answered. The config goes through loadConfig.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { hashPassword } from '../../src/broker/auth/password.js';
import { waitFor } from '../helpers/net.js';
import { loginAs, simDevice, startStack, type Stack } from './stack.js';

const PRESS = 'acme/plant1/line1/press1';
let stack: Stack;

const register = (address: number): number =>
  stack.sims[0]!.units.units.get(1)!.memory.getRegister('hr', address);

beforeAll(async () => {
  stack = await startStack({
    broker: {
      users: [{ username: 'hmi', passwordHash: await hashPassword('hmi-pw') }],
      acl: [
        { user: 'hmi', publish: ['acme/#'], subscribe: ['#'] },
        { user: 'hmi', access: 'deny', publish: ['acme/+/+/+/limit/set'] },
      ],
    },
    devices: [simDevice('press1', 0)],
    mappings: {
      'press1.json': {
        device: 'press1',
        topic: PRESS,
        defaults: { pollMs: 200, qos: 1 },
        tags: [
          { name: 'setpoint', address: 'hr:200', type: 'int16', writable: true },
          { name: 'limit', address: 'hr:201', type: 'int16', writable: true },
        ],
      },
    },
  });
  await waitFor(() => stack.device('press1').state === 'connected', 10_000, 'press1');
});
afterAll(() => stack?.stop());

it('refuses a command on a denied tag and runs one on an allowed tag', async () => {
  const hmi = await loginAs(stack.mqttPort, 'hmi');
  try {
    await hmi.mqtt.subscribeAsync(`${PRESS}/+/set/result`, { qos: 1 });
    const limitBefore = register(201);
    await expect(
      hmi.mqtt.publishAsync(`${PRESS}/limit/set`, '{"value":77,"requestId":"denied"}', { qos: 1 }),
    ).rejects.toMatchObject({ code: 0x87 });
    await hmi.mqtt.publishAsync(`${PRESS}/setpoint/set`, '{"value":66,"requestId":"allowed"}', { qos: 1 });
    expect(await hmi.json(`${PRESS}/setpoint/set/result`)).toMatchObject({ ok: true, value: 66 });
    expect(register(200)).toBe(66);
    // Commands are handled in arrival order: the denied one, had it got through, would be answered by now.
    expect(hmi.messages.filter((m) => m.topic === `${PRESS}/limit/set/result`)).toEqual([]);
    expect(register(201)).toBe(limitBefore);
    const rows = await waitFor(
      async () => {
        const found = await stack.audit.query({ device: 'press1' });
        return found.length > 0 ? found : undefined;
      },
      5000,
      'the audit row',
    );
    expect(rows.map((r) => r.tag)).toEqual(['setpoint']);
  } finally {
    await hmi.close();
  }
});
