// Mosquitto's own command-line clients (Debian's mosquitto-clients) against our broker, v3.1.1 and v5.
import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { run } from '../helpers/mosquitto.js';
import { waitFor } from '../helpers/net.js';
import { useBroker } from './helpers.js';

const b = useBroker();

describe.each(['311', '5'])('mosquitto_sub / mosquitto_pub -V %s', (version) => {
  /** Where Mosquitto's clients connect, and with which protocol version. */
  const target = (): string[] => ['-h', '127.0.0.1', '-p', String(b.port), '-V', version];
  it('mosquitto_sub receives what mosquitto_pub sends, at QoS 0, 1 and 2, each exactly once', async () => {
    const topic = `mosq/${version}`;
    // -F '%q %t %p': the QoS each message was delivered at, its topic and its payload.
    const sub = spawn('mosquitto_sub', [...target(), '-t', `${topic}/#`, '-q', '2', '-F', '%q %t %p'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    sub.stdout.on('data', (c: Buffer) => (out += c.toString()));
    const killer = setTimeout(() => sub.kill('SIGKILL'), 30_000);
    const pub = async (subtopic: string, message: string, qos: '0' | '1' | '2') => {
      const res = await run('mosquitto_pub', [
        ...target(),
        '-t',
        `${topic}/${subtopic}`,
        '-m',
        message,
        '-q',
        qos,
      ]);
      expect(res.code, res.stderr).toBe(0);
    };
    try {
      // Wait until the subscription exists: a QoS 1 probe comes back once it does.
      await waitFor(
        async () => {
          await pub('probe', 'p', '1');
          return out.includes(`${topic}/probe`);
        },
        10_000,
        'mosquitto_sub to subscribe',
      );
      for (const qos of ['0', '1', '2'] as const) await pub(`q${qos}`, `hello ${qos}`, qos);
      // The broker sends one subscriber's messages in order: once the marker published last is
      // printed, any duplicate of the ones before it would have been printed already.
      await pub('end', 'marker', '2');
      await waitFor(() => out.includes(`${topic}/end marker`), 10_000, 'the marker after the three messages');
      const lines = out
        .trim()
        .split('\n')
        .filter((l) => !l.includes(`${topic}/probe`));
      expect(lines).toEqual([
        `0 ${topic}/q0 hello 0`,
        `1 ${topic}/q1 hello 1`,
        `2 ${topic}/q2 hello 2`,
        `2 ${topic}/end marker`,
      ]);
    } finally {
      clearTimeout(killer);
      sub.kill('SIGKILL');
    }
  });

  it('mosquitto_pub at QoS 2 and retained reaches a later mosquitto_sub', async () => {
    const topic = `mosq/${version}/retained`;
    const pub = await run('mosquitto_pub', [...target(), '-t', topic, '-m', 'kept', '-q', '2', '-r']);
    expect(pub.code).toBe(0);
    const sub = await run(
      'mosquitto_sub',
      [...target(), '-t', topic, '-q', '2', '-v', '-C', '1', '-W', '10'],
      15_000,
    );
    expect(sub.code).toBe(0);
    expect(sub.stdout.trim()).toBe(`${topic} kept`);
  });
});

// Mosquitto's client reads packet by packet (header, length, then the rest), as many C and
// embedded clients do: the broker's batched writes must reach it whole, in order, at any QoS.
describe.each([0, 1] as const)('mosquitto_sub reading packet by packet, QoS %i', (qos) => {
  it('receives every message of batches of 1,000 published as the gateway publishes its tags', async () => {
    const topic = `burst/q${qos}`;
    const sub = spawn(
      'mosquitto_sub',
      ['-h', '127.0.0.1', '-p', String(b.port), '-t', `${topic}/#`, '-q', String(qos), '-F', '%t %p'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    sub.stdout.on('data', (c: Buffer) => (out += c.toString()));
    const lines = (): string[] => out.split('\n').filter((l) => l.length > 0 && !l.includes('/probe'));
    const killer = setTimeout(() => sub.kill('SIGKILL'), 60_000);
    try {
      await waitFor(
        () => {
          b.broker.publish({ topic: `${topic}/probe`, payload: Buffer.from('p'), qos: 0, retain: false });
          return out.includes('/probe');
        },
        10_000,
        'mosquitto_sub to subscribe',
      );
      const batches = 20;
      const perBatch = 1000;
      for (let n = 0; n < batches; n++) {
        // As a gateway's device batch: 1,000 tags' messages in one call, the next once the
        // subscriber printed them all (at QoS 1 the session queue holds 1,000 behind the window
        // of 100 in flight, and the broker may not have read the last acks yet when they print).
        b.broker.publishBatch(
          Array.from({ length: perBatch }, (_, i) => ({
            topic: `${topic}/t${i}`,
            payload: Buffer.from(`{"value":${n * perBatch + i},"quality":"good"}`),
            qos,
            retain: false,
          })),
        );
        await waitFor(() => lines().length >= (n + 1) * perBatch, 20_000, `batch ${n} to arrive`);
      }
      await waitFor(() => lines().length === batches * perBatch, 20_000, 'every message');
      const values = lines().map((l) => (JSON.parse(l.split(' ')[1]!) as { value: number }).value);
      expect(values).toEqual(Array.from({ length: batches * perBatch }, (_, i) => i));
    } finally {
      clearTimeout(killer);
      sub.kill('SIGKILL');
    }
  });
});
