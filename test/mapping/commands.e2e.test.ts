// Commands end to end: an MQTT client (MQTT.js, then Mosquitto's clients) through the embedded
// broker, the command router and the Modbus driver to our simulator, and the result back.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashPassword } from '../../src/broker/auth/password.js';
import { freePort, waitFor } from '../helpers/net.js';
import { run } from '../helpers/mosquitto.js';
import { connect, loginAs, simDevice, startStack, type Client, type Stack } from './stack.js';

const PRESS = 'acme/plant1/line1/press1';
let stack: Stack;
let client: Client;

const setpointRegister = (): number => stack.sims[0]!.units.units.get(1)!.memory.getRegister('hr', 200);

beforeAll(async () => {
  const deadPort = await freePort();
  stack = await startStack({
    broker: {
      users: [
        { username: 'viewer', passwordHash: await hashPassword('viewer-pw') },
        { username: 'ops', passwordHash: await hashPassword('ops-pw') },
      ],
      acl: [
        { user: '$anonymous', publish: ['#'], subscribe: ['#'] },
        { user: 'ops', publish: ['acme/#'], subscribe: ['acme/#'] },
        { user: 'viewer', publish: [], subscribe: ['acme/#'] },
      ],
    },
    simulators: [{ port: 0 }, { port: 0, faults: { delayMs: 1500 } }],
    devices: [
      simDevice('press1', 0),
      simDevice('slow1', 1, { timeoutMs: 4000 }),
      { ...simDevice('ghost', 0), transport: { type: 'tcp', host: '127.0.0.1', port: deadPort } },
    ],
    mappings: {
      'press1.json': {
        device: 'press1',
        topic: PRESS,
        defaults: { pollMs: 200, qos: 1, retain: true },
        tags: [
          { name: 'temperature', address: 'hr:100', type: 'float32', unit: 'degC' },
          {
            name: 'setpoint',
            address: 'hr:200',
            type: 'int16',
            unit: 'degC',
            writable: true,
            min: 0,
            max: 500,
          },
          { name: 'running', address: 'coil:0', type: 'bool', writable: true },
          {
            name: 'limited',
            address: 'hr:200',
            type: 'int16',
            writable: true,
            min: 0,
            max: 500,
            rateLimit: { writes: 1, perSec: 60 },
          },
        ],
      },
      'slow1.json': {
        device: 'slow1',
        topic: 'acme/slow1',
        defaults: { pollMs: 60000 },
        tags: [{ name: 'setpoint', address: 'hr:200', type: 'int16', writable: true, commandTimeoutMs: 300 }],
      },
      'ghost.json': {
        device: 'ghost',
        topic: 'acme/ghost',
        tags: [{ name: 'setpoint', address: 'hr:200', type: 'int16', writable: true }],
      },
    },
  });
  await waitFor(() => stack.device('press1').state === 'connected', 10_000, 'press1 connected');
  client = await connect(stack.mqttPort, { protocolVersion: 5, clientId: 'operator-1' });
  await client.mqtt.subscribeAsync('acme/#', { qos: 1 });
});

afterAll(async () => {
  await client?.close();
  await stack?.stop();
});

/** Publishes a command and returns the parsed result published on `{topic}/result`. */
async function command(topic: string, payload: string): Promise<Record<string, unknown>> {
  const from = client.messages.length;
  await client.mqtt.publishAsync(topic, payload, { qos: 1 });
  return client.json(`${topic}/result`, from);
}

describe('commands through the broker to the Modbus simulator', () => {
  it('publishes tag values in the contract payload, retained', async () => {
    const msg = await client.next(`${PRESS}/temperature`);
    const payload = JSON.parse(msg.payload) as Record<string, unknown>;
    expect(Object.keys(payload)).toEqual(['value', 'ts', 'quality', 'unit']);
    expect(payload).toMatchObject({ quality: 'good', unit: 'degC' });
    expect(typeof payload.value).toBe('number');
    expect(msg.properties).toMatchObject({
      contentType: 'application/json',
      userProperties: { device: 'press1', unit: 'degC' },
    });
  });

  it('writes a setpoint, answers with the read-back, and the next published value is the new one', async () => {
    const from = client.messages.length;
    const result = await command(`${PRESS}/setpoint/set`, '{"value":123,"requestId":"r-1"}');
    expect(result).toEqual({ ok: true, value: 123, ts: expect.any(Number), requestId: 'r-1' });
    expect(setpointRegister()).toBe(123);
    await client.next(`${PRESS}/setpoint`, from, (p) => (JSON.parse(p) as { value: unknown }).value === 123);
  });

  it('takes a bare value too', async () => {
    expect(await command(`${PRESS}/running/set`, 'true')).toMatchObject({ ok: true, value: true });
    expect(await command(`${PRESS}/running/set`, 'false')).toMatchObject({ ok: true, value: false });
  });

  it.each([
    ['out of range', 'setpoint', '{"value":900,"requestId":"bad-1"}', 'value 900 above max 500', 'bad-1'],
    ['below range', 'setpoint', '-4', 'value -4 below min 0', undefined],
    ['of the wrong type', 'setpoint', '{"value":"hot"}', 'value must be an integer, got "hot"', undefined],
    [
      'not writable',
      'temperature',
      '{"value":20,"requestId":"bad-2"}',
      'tag "temperature" is not writable',
      'bad-2',
    ],
    ['an unknown tag', 'nosuchtag', '1', 'unknown tag "nosuchtag" on device "press1"', undefined],
    ['not JSON', 'setpoint', 'abc', 'payload is not valid JSON: "abc"', undefined],
  ])('refuses a command %s before it reaches the device', async (_what, tag, payload, error, requestId) => {
    const before = setpointRegister();
    const result = await command(`${PRESS}/${tag}/set`, payload);
    expect(result).toEqual(requestId ? { ok: false, error, requestId } : { ok: false, error });
    expect(setpointRegister()).toBe(before);
  });

  it('answers on the MQTT 5 response topic with the correlation data', async () => {
    const from = client.messages.length;
    await client.mqtt.subscribeAsync('replies/operator-1', { qos: 1 });
    await client.mqtt.publishAsync(`${PRESS}/setpoint/set`, '{"value":77}', {
      qos: 1,
      properties: { responseTopic: 'replies/operator-1', correlationData: Buffer.from('corr-42') },
    });
    const reply = await client.next('replies/operator-1', from);
    expect(JSON.parse(reply.payload)).toEqual({ ok: true, value: 77, ts: expect.any(Number) });
    expect(Buffer.from(reply.properties!.correlationData as Uint8Array).toString()).toBe('corr-42');
    expect(reply.properties).toMatchObject({ contentType: 'application/json' });
    await client.next(`${PRESS}/setpoint/set/result`, from);
  });

  it('gives a duplicate requestId its first result without writing again', async () => {
    const first = await command(`${PRESS}/setpoint/set`, '{"value":200,"requestId":"dup-1"}');
    expect(first).toMatchObject({ ok: true, value: 200, requestId: 'dup-1' });
    stack.sims[0]!.units.units.get(1)!.memory.setRegisters('hr', 200, Buffer.from([0, 201]));
    const again = await command(`${PRESS}/setpoint/set`, '{"value":200,"requestId":"dup-1"}');
    expect(again).toEqual(first);
    expect(setpointRegister()).toBe(201);
  });

  it('refuses a write beyond the tag rate limit', async () => {
    expect(await command(`${PRESS}/limited/set`, '10')).toMatchObject({ ok: true, value: 10 });
    expect(await command(`${PRESS}/limited/set`, '11')).toEqual({
      ok: false,
      error: 'rate limit of tag "limited" exceeded (at most 1 write per 60 s)',
    });
    expect(setpointRegister()).toBe(10);
  });

  it('refuses a command for a device that is not connected, and waits for it only within ttlMs', async () => {
    const now = await command('acme/ghost/setpoint/set', '{"value":1,"requestId":"g-1"}');
    expect(now).toEqual({
      ok: false,
      error: expect.stringMatching(/^device "ghost" is not connected \((connecting|disconnected)\)$/),
      requestId: 'g-1',
    });
    const waited = await command('acme/ghost/setpoint/set', '{"value":1,"requestId":"g-1","ttlMs":300}');
    expect(waited).toEqual({
      ok: false,
      error: 'device "ghost" did not connect within ttlMs 300',
      requestId: 'g-1',
    });
  });

  it('says so when the device does not answer within the command timeout', async () => {
    await waitFor(() => stack.device('slow1').state === 'connected', 15_000, 'slow1 connected');
    const result = await command('acme/slow1/setpoint/set', '{"value":5}');
    expect(result).toEqual({
      ok: false,
      error: 'write to setpoint: timeout after 300 ms: outcome unknown: the device may still apply it',
      outcome: 'unknown',
    });
  });

  it('applies several writes in order with a device-level command and answers once', async () => {
    const from = client.messages.length;
    const result = await command(
      `${PRESS}/set`,
      '{"values":{"setpoint":321,"running":true},"requestId":"multi-1"}',
    );
    expect(result).toEqual({
      ok: true,
      values: { setpoint: 321, running: true },
      ts: expect.any(Number),
      requestId: 'multi-1',
    });
    expect(setpointRegister()).toBe(321);
    expect(client.messages.slice(from).filter((m) => m.topic === `${PRESS}/set/result`)).toHaveLength(1);
    const refused = await command(`${PRESS}/set`, '{"values":{"running":false,"setpoint":999}}');
    expect(refused).toEqual({ ok: false, error: 'value 999 above max 500' });
    expect(setpointRegister()).toBe(321);
  });

  it('reads a tag afresh on /get', async () => {
    stack.sims[0]!.units.units.get(1)!.memory.setRegisters('hr', 200, Buffer.from([1, 0]));
    expect(await command(`${PRESS}/setpoint/get`, '{"requestId":"read-1"}')).toEqual({
      ok: true,
      value: 256,
      ts: expect.any(Number),
      requestId: 'read-1',
    });
    expect(await command(`${PRESS}/temperature/get`, '')).toMatchObject({
      ok: true,
      value: expect.any(Number),
    });
  });

  it('works from Mosquitto clients: mosquitto_pub writes, mosquitto_sub sees the result', async () => {
    const resultTopic = `${PRESS}/setpoint/set/result`;
    const sub = run('mosquitto_sub', [
      '-h',
      '127.0.0.1',
      '-p',
      String(stack.mqttPort),
      '-t',
      resultTopic,
      '-C',
      '1',
      '-W',
      '20',
    ]);
    // The command goes once mosquitto_sub's subscription is in the broker.
    await waitFor(
      () => stack.broker.clients().some((c) => c.subscriptions.some((x) => x.filter === resultTopic)),
      15_000,
      'mosquitto_sub subscribed',
    );
    const pub = await run('mosquitto_pub', [
      '-h',
      '127.0.0.1',
      '-p',
      String(stack.mqttPort),
      '-t',
      `${PRESS}/setpoint/set`,
      '-m',
      '{"value":42,"requestId":"mosq"}',
    ]);
    expect(pub.code).toBe(0);
    const { stdout, code } = await sub;
    expect(code).toBe(0);
    expect(JSON.parse(stdout)).toEqual({ ok: true, value: 42, ts: expect.any(Number), requestId: 'mosq' });
    expect(setpointRegister()).toBe(42);
  });

  it('never sees a command the broker ACL denies; records the username of one it allows', async () => {
    const viewer = await loginAs(stack.mqttPort, 'viewer');
    const ops = await loginAs(stack.mqttPort, 'ops');
    try {
      const before = setpointRegister();
      const from = client.messages.length;
      await viewer.mqtt
        .publishAsync(`${PRESS}/setpoint/set`, '{"value":55,"requestId":"denied"}', { qos: 1 })
        .catch(() => undefined);
      await ops.mqtt.subscribeAsync(`${PRESS}/setpoint/set/result`, { qos: 1 });
      await ops.mqtt.publishAsync(`${PRESS}/setpoint/set`, '{"value":56,"requestId":"allowed"}', { qos: 1 });
      expect(JSON.parse((await ops.next(`${PRESS}/setpoint/set/result`)).payload)).toMatchObject({
        ok: true,
        value: 56,
      });
      expect(before).not.toBe(55);
      expect(setpointRegister()).toBe(56);
      // The audit rows are stored in arrival order, the denied command's PUBACK came before the
      // allowed one was sent: had it reached the router, its row would be there too (checked below).
      const rows = await waitFor(
        async () => {
          const found = await stack.audit.query({ device: 'press1' });
          // Completed: the row is stored before the command runs, its outcome shortly after.
          return found.some((r) => r.payload.includes('allowed') && r.outcome !== 'unknown')
            ? found
            : undefined;
        },
        5000,
        'the finished audit row of ops',
      );
      expect(rows.find((r) => r.payload.includes('allowed'))).toMatchObject({
        clientId: 'ops-1',
        username: 'ops',
        ok: true,
      });
      expect(rows.some((r) => r.payload.includes('denied'))).toBe(false);
      await stack.flush(client, 'acme/flushed');
      const results = client.messages.slice(from).filter((m) => m.topic === `${PRESS}/setpoint/set/result`);
      expect(results.map((m) => (JSON.parse(m.payload) as { requestId: string }).requestId)).toEqual([
        'allowed',
      ]);

      // The gateway answers on a response topic only where the sender itself may publish.
      await ops.mqtt.subscribeAsync('acme/replies/#', { qos: 1 });
      const mark = ops.messages.length;
      await client.mqtt.subscribeAsync('replies/#', { qos: 1 });
      const mark2 = client.messages.length;
      const ask = (responseTopic: string, requestId: string) =>
        ops.mqtt.publishAsync(`${PRESS}/setpoint/set`, JSON.stringify({ value: 57, requestId }), {
          qos: 1,
          properties: { responseTopic, correlationData: Buffer.from(requestId) },
        });
      await ask('replies/elsewhere', 'resp-denied');
      await ask('acme/replies/ops', 'resp-allowed');
      const answered = await ops.next('acme/replies/ops', mark);
      expect(JSON.parse(answered.payload)).toMatchObject({ ok: true, requestId: 'resp-allowed' });
      // The denied answer would be published before its audit row is finished; after that, a marker.
      await waitFor(
        async () =>
          (await stack.audit.query({ device: 'press1' })).find(
            (r) => r.payload.includes('resp-denied') && r.outcome !== 'unknown',
          ),
        5000,
        'the finished audit row of resp-denied',
      );
      await stack.flush(client, 'replies/flushed');
      expect(client.messages.slice(mark2).filter((m) => m.topic === 'replies/elsewhere')).toEqual([]);
    } finally {
      await viewer.close();
      await ops.close();
    }
  });

  it('audits every command, accepted or refused, with who sent it', async () => {
    const rows = await waitFor(
      async () => {
        const found = await stack.audit.query({ device: 'press1' });
        return found.some((r) => r.payload.includes('"mosq"')) ? found : undefined;
      },
      5000,
      'audit rows',
    );
    const first = rows.find((r) => r.payload === '{"value":123,"requestId":"r-1"}')!;
    expect(first).toMatchObject({
      kind: 'set',
      clientId: 'operator-1',
      device: 'press1',
      tag: 'setpoint',
      topic: `${PRESS}/setpoint/set`,
      ok: true,
    });
    expect(JSON.parse(first.result)).toMatchObject({ ok: true, value: 123 });
    expect(first.durationMs).toBeGreaterThan(0);
    const refused = rows.find((r) => r.payload.includes('bad-2'))!;
    expect(refused).toMatchObject({ ok: false, tag: 'temperature' });
    expect(rows.find((r) => r.kind === 'device-set')).toMatchObject({ tag: 'setpoint,running', ok: true });
    expect(rows.find((r) => r.kind === 'get')).toBeDefined();
    expect((await stack.audit.query({ device: 'ghost' })).every((r) => !r.ok)).toBe(true);
    expect(await stack.audit.query({ device: 'press1', since: Date.now() + 60_000 })).toEqual([]);
  });
});
