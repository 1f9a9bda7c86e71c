// Commands that tell the truth (issue 10), end to end with MQTT.js clients, the embedded broker,
// the command router and the Modbus driver against our simulator: the read-back reaches the tag
// topic before the result, commands on one tag run one after the other, a write left unanswered
// has an unknown outcome (and the tag's value follows once the device answers), scaled integers
// take engineering values, strings are refused characters their encoding cannot hold, requestIds
// are per sender, and no command runs that cannot be audited.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ModbusSimulatorConfig } from '../../drivers/modbus/config.js';
import { waitFor } from '../helpers/net.js';
import { connect, simDevice, startStack, type Client, type Stack } from './stack.js';

const PRESS = 'acme/truth/press1';
const STALL = 'acme/truth/stall1';
let stack: Stack;
let client: Client;

const memory = (sim: number) => stack.sims[sim]!.units.units.get(1)!.memory;
const register = (sim: number, address: number): number => memory(sim).getRegister('hr', address);
const registerBytes = (address: number, count: number): number[] => [
  ...memory(0).hr.subarray(address * 2, (address + count) * 2),
];
const stallFaults = (): ModbusSimulatorConfig['faults'] => stack.loaded.config.simulators.modbus[1]!.faults;

beforeAll(async () => {
  stack = await startStack({
    simulators: [
      { port: 0, unmapped: 'zero' },
      { port: 0, unmapped: 'zero', profile: 'none' },
    ],
    devices: [simDevice('press1', 0), simDevice('stall1', 1, { timeoutMs: 2000, retries: 0 })],
    mappings: {
      'press1.json': {
        device: 'press1',
        topic: PRESS,
        // Polls are rare: a value on a tag topic after a write comes from the write itself.
        defaults: { pollMs: 60_000, qos: 1, retain: true },
        tags: [
          { name: 'setpoint', address: 'hr:200', type: 'int16', writable: true, min: 0, max: 500 },
          {
            name: 'scaled',
            address: 'hr:210',
            type: 'int16',
            scale: 0.1,
            writable: true,
            min: -100,
            max: 3000,
          },
          { name: 'label', address: 'hr:300', type: 'string', length: 2, encoding: 'latin1', writable: true },
          { name: 'code', address: 'hr:310', type: 'string', length: 2, writable: true },
          { name: 'text', address: 'hr:320', type: 'string', length: 4, encoding: 'utf8', writable: true },
        ],
      },
      'stall1.json': {
        device: 'stall1',
        topic: STALL,
        defaults: { pollMs: 60_000, qos: 1, retain: true },
        tags: [
          { name: 'setpoint', address: 'hr:200', type: 'int16', writable: true, commandTimeoutMs: 200 },
          // Waits longer than the driver's own timeout (2 s): the driver gives up first.
          { name: 'patient', address: 'hr:201', type: 'int16', writable: true, commandTimeoutMs: 5000 },
        ],
      },
    },
  });
  await waitFor(
    () => stack.gateway.devices().every((d) => d.state === 'connected'),
    10_000,
    'devices connected',
  );
  client = await connect(stack.mqttPort, { protocolVersion: 5, clientId: 'operator-t' });
  await client.mqtt.subscribeAsync('acme/truth/#', { qos: 1 });
});

afterAll(async () => {
  await client?.close();
  await stack?.stop();
});

async function command(topic: string, payload: string, from = client.messages.length) {
  await client.mqtt.publishAsync(topic, payload, { qos: 1 });
  return client.json(`${topic}/result`, from);
}

const valueOf = (payload: string): unknown => (JSON.parse(payload) as { value: unknown }).value;

describe('a write tells the truth', () => {
  it('publishes the value read back on the tag topic before the result', async () => {
    const from = client.messages.length;
    const result = await command(`${PRESS}/setpoint/set`, '{"value":77,"requestId":"first"}', from);
    expect(result).toMatchObject({ ok: true, value: 77, requestId: 'first' });
    const after = client.messages.slice(from);
    const tagAt = after.findIndex((m) => m.topic === `${PRESS}/setpoint` && valueOf(m.payload) === 77);
    const resultAt = after.findIndex((m) => m.topic === `${PRESS}/setpoint/set/result`);
    expect(tagAt).toBeGreaterThanOrEqual(0);
    expect(tagAt).toBeLessThan(resultAt);
  });

  it('runs a burst of commands on one tag one after the other, each answered truthfully', async () => {
    const from = client.messages.length;
    const values = [11, 12, 13, 14, 15, 16, 17, 18, 19];
    await Promise.all(
      values.map((v) =>
        client.mqtt.publishAsync(`${PRESS}/setpoint/set`, JSON.stringify({ value: v, requestId: `b-${v}` }), {
          qos: 1,
        }),
      ),
    );
    const results = await waitFor(
      () => {
        const found = client.messages
          .slice(from)
          .filter((m) => m.topic === `${PRESS}/setpoint/set/result`)
          .map((m) => JSON.parse(m.payload) as Record<string, unknown>);
        return found.length >= values.length ? found : undefined;
      },
      10_000,
      'nine results',
    );
    for (const v of values)
      expect(results.find((r) => r.requestId === `b-${v}`)).toEqual({
        ok: true,
        value: v,
        ts: expect.any(Number),
        requestId: `b-${v}`,
      });
    expect(register(0, 200)).toBe(19);
    const published = client.messages
      .slice(from)
      .filter((m) => m.topic === `${PRESS}/setpoint`)
      .map((m) => valueOf(m.payload));
    expect(published).toEqual(values);
  });

  it('takes engineering values on a scaled integer tag, and refuses one between two raw steps', async () => {
    expect(await command(`${PRESS}/scaled/set`, '80.3')).toEqual({
      ok: true,
      value: 80.3,
      ts: expect.any(Number),
    });
    expect(register(0, 210)).toBe(803);
    expect(await command(`${PRESS}/scaled/set`, '-12.5')).toMatchObject({ ok: true, value: -12.5 });
    expect(await command(`${PRESS}/scaled/set`, '80.33')).toEqual({
      ok: false,
      error:
        'value 80.33 is between two steps of scaled (scale 0.1: raw 803.3 is not a whole number): the nearest values it can hold are 80.3 and 80.4',
    });
    expect(register(0, 210)).toBe(0x10000 - 125);
  });

  it('refuses a character that the string tag encoding cannot hold, naming both', async () => {
    expect(await command(`${PRESS}/label/set`, '"é!"')).toMatchObject({ ok: true, value: 'é!' });
    expect(registerBytes(300, 2)).toEqual([0xe9, 0x21, 0, 0]);
    expect(await command(`${PRESS}/label/set`, '"5 €"')).toEqual({
      ok: false,
      error:
        '"5 €" for label: character 3, "€" (U+20AC), cannot be written in latin1 (ISO 8859-1, U+0000 to U+00FF)',
    });
    expect(await command(`${PRESS}/code/set`, '"né"')).toEqual({
      ok: false,
      error: '"né" for code: character 2, "é" (U+00E9), cannot be written in ascii (U+0000 to U+007F)',
    });
    expect(await command(`${PRESS}/text/set`, '"a\\ud800"')).toEqual({
      ok: false,
      error:
        '"a\\ud800" for text: character 2 is an unpaired surrogate (U+D800), not text: it cannot be written in utf8',
    });
    expect(registerBytes(300, 2)).toEqual([0xe9, 0x21, 0, 0]);
    expect(registerBytes(310, 2)).toEqual([0, 0, 0, 0]);
    expect(registerBytes(320, 4)).toEqual([0, 0, 0, 0, 0, 0, 0, 0]);
    expect(await command(`${PRESS}/text/set`, '"5 €"')).toMatchObject({ ok: true, value: '5 €' });
    expect(await command(`${PRESS}/code/set`, '"OK"')).toMatchObject({ ok: true, value: 'OK' });
  });

  it('keeps requestIds apart per sender: another client\u2019s dup-1 is a new command', async () => {
    const other = await connect(stack.mqttPort, { protocolVersion: 5, clientId: 'operator-u' });
    try {
      await other.mqtt.subscribeAsync(`${PRESS}/setpoint/set/result`, { qos: 1 });
      expect(await command(`${PRESS}/setpoint/set`, '{"value":31,"requestId":"dup-1"}')).toMatchObject({
        ok: true,
        value: 31,
      });
      const mark = other.messages.length;
      await other.mqtt.publishAsync(`${PRESS}/setpoint/set`, '{"value":32,"requestId":"dup-1"}', { qos: 1 });
      expect(JSON.parse((await other.next(`${PRESS}/setpoint/set/result`, mark)).payload)).toMatchObject({
        ok: true,
        value: 32,
        requestId: 'dup-1',
      });
      expect(register(0, 200)).toBe(32);
      // The first client's retry is still a duplicate of its own command: first result, no write.
      expect(await command(`${PRESS}/setpoint/set`, '{"value":31,"requestId":"dup-1"}')).toMatchObject({
        ok: true,
        value: 31,
      });
      expect(register(0, 200)).toBe(32);
    } finally {
      await other.close();
    }
  });
});

describe('a write left unanswered', () => {
  it('answers "outcome unknown", is audited unknown, and the value follows when the device answers late', async () => {
    stallFaults().delayMs = 600;
    try {
      const from = client.messages.length;
      const result = await command(`${STALL}/setpoint/set`, '{"value":5,"requestId":"late"}', from);
      expect(result).toEqual({
        ok: false,
        error: 'write to setpoint: timeout after 200 ms: outcome unknown: the device may still apply it',
        outcome: 'unknown',
        requestId: 'late',
      });
      expect(register(1, 200)).toBe(5); // the device took it
      await client.next(`${STALL}/setpoint`, from, (p) => valueOf(p) === 5);
      const row = (await stack.audit.query({ device: 'stall1' })).find((r) => r.payload.includes('"late"'));
      expect(row).toMatchObject({ outcome: 'unknown', ok: false });
    } finally {
      stallFaults().delayMs = 0;
    }
  });

  it('holds the next command on the tag, and publishes the value read once the stalled device resumes', async () => {
    stallFaults().delayMs = 60_000; // past the driver's own timeout: the device stalls
    const from = client.messages.length;
    try {
      expect(await command(`${STALL}/setpoint/set`, '{"value":6,"requestId":"stalled"}', from)).toMatchObject(
        {
          ok: false,
          outcome: 'unknown',
        },
      );
      expect(register(1, 200)).toBe(6);
      // The device has not answered the first write: the second is not sent, and says so.
      expect(await command(`${STALL}/setpoint/set`, '{"value":7,"requestId":"behind"}')).toEqual({
        ok: false,
        error: 'not written: an earlier command on "setpoint" was still running when the command timed out',
        requestId: 'behind',
      });
      expect(register(1, 200)).toBe(6);
      // The driver gives up on the write after its timeout; the value is read once the device answers.
      await waitFor(() => stack.device('stall1').timeouts > 0, 10_000, 'the driver timeout');
    } finally {
      stallFaults().delayMs = 0;
    }
    await client.next(`${STALL}/setpoint`, from, (p) => valueOf(p) === 6);
    const rows = await stack.audit.query({ device: 'stall1' });
    expect(rows.find((r) => r.payload.includes('"stalled"'))).toMatchObject({ outcome: 'unknown' });
    expect(rows.find((r) => r.payload.includes('"behind"'))).toMatchObject({ outcome: 'refused' });
    expect(await command(`${STALL}/setpoint/set`, '{"value":8}')).toMatchObject({ ok: true, value: 8 });
  });

  it('says "outcome unknown" when the driver itself times out, and publishes the value once the device answers', async () => {
    stallFaults().delayMs = 60_000;
    const from = client.messages.length;
    try {
      expect(await command(`${STALL}/patient/set`, '{"value":9,"requestId":"driver-timeout"}', from)).toEqual(
        {
          ok: false,
          error: 'write to patient: timeout: outcome unknown: the device may still apply it',
          outcome: 'unknown',
          requestId: 'driver-timeout',
        },
      );
      expect(register(1, 201)).toBe(9);
    } finally {
      stallFaults().delayMs = 0;
    }
    await client.next(`${STALL}/patient`, from, (p) => valueOf(p) === 9);
  });
});

describe('the audit log', () => {
  it('records each outcome', async () => {
    const rows = await stack.audit.query({ device: 'press1' });
    expect(rows.find((r) => r.payload.includes('"first"'))).toMatchObject({ outcome: 'ok', ok: true });
    // Refused by the driver before anything was sent: the device never saw it.
    expect(rows.find((r) => r.payload === '"5 €"' && r.tag === 'label')).toMatchObject({
      outcome: 'refused',
      ok: false,
    });
  });

  it('refuses every command while the audit log cannot store it, before the device', async () => {
    const before = register(0, 200);
    await stack.audit.close();
    expect(await command(`${PRESS}/setpoint/set`, '{"value":99,"requestId":"no-audit"}')).toEqual({
      ok: false,
      error: 'audit log unavailable: the command was not carried out',
      requestId: 'no-audit',
    });
    expect(register(0, 200)).toBe(before);
  });
});
