// Mosquitto's own command-line clients (Debian's mosquitto-clients) against our broker, v3.1.1 and v5.
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../helpers/mosquitto.js';
import { waitFor } from '../helpers/net.js';
import { startBroker, type TestBroker } from './helpers.js';

let b: TestBroker;
beforeAll(async () => {
  b = await startBroker();
});
afterAll(() => b.stop());

describe.each(['311', '5'])('mosquitto_sub / mosquitto_pub -V %s', (version) => {
  /** Where Mosquitto's clients connect, and with which protocol version. */
  const target = (): string[] => ['-h', '127.0.0.1', '-p', String(b.port), '-V', version];
  it('mosquitto_sub receives what mosquitto_pub sends, at QoS 0, 1 and 2', async () => {
    const topic = `mosq/${version}`;
    const sub = spawn('mosquitto_sub', [...target(), '-t', `${topic}/#`, '-q', '2', '-v'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    sub.stdout.on('data', (c: Buffer) => (out += c.toString()));
    const killer = setTimeout(() => sub.kill('SIGKILL'), 20_000);
    try {
      // Wait until the subscription exists: a retained probe comes back once it does.
      await waitFor(
        async () => {
          await run('mosquitto_pub', [...target(), '-t', `${topic}/probe`, '-m', 'p', '-q', '1']);
          return out.includes(`${topic}/probe`);
        },
        10_000,
        'mosquitto_sub to subscribe',
      );
      for (const qos of ['0', '1']) {
        const res = await run('mosquitto_pub', [
          ...target(),
          '-t',
          `${topic}/q${qos}`,
          '-m',
          `hello ${qos}`,
          '-q',
          qos,
        ]);
        expect(res.code).toBe(0);
      }
      await waitFor(
        () => out.includes(`${topic}/q1 hello 1`),
        10_000,
        'mosquitto_sub to print both messages',
      );
      const lines = out
        .trim()
        .split('\n')
        .filter((l) => !l.startsWith(`${topic}/probe`));
      expect(lines).toEqual([`${topic}/q0 hello 0`, `${topic}/q1 hello 1`]);
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
