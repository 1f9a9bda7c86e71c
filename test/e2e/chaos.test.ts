// Chaos: `tagwire start` killed with SIGKILL, again and again, under a steady QoS 1 flow (MQTT.js,
// 50 in flight) into a bridge `out` rule to a real Mosquitto. Every message the publisher got a
// PUBACK for must reach the upstream, and the persistent session (clean=false, QoS 1) of a local
// subscriber: a PUBACK means every durable destination has the message on disk.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import { repoRoot } from '../helpers/demo-config.js';
import { startMosquitto, type MosquittoBroker } from '../helpers/mosquitto.js';
import { freePort, sleep, waitFor, waitForPort } from '../helpers/net.js';

const cli = path.join(repoRoot, 'src/cli.ts');
const KILLS = 3;
const WINDOW = 50;

function startGateway(config: string): { child: ChildProcess; output: () => string } {
  // One process (tsx as a loader, not its CLI wrapper), so SIGKILL hits the gateway itself.
  const child = spawn(process.execPath, ['--import', 'tsx', cli, 'start', '-c', config, '--no-watch'], {
    cwd: repoRoot,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (c: Buffer) => (output = (output + c.toString()).slice(-4000)));
  child.stderr!.on('data', (c: Buffer) => (output = (output + c.toString()).slice(-4000)));
  return { child, output: () => output };
}

function killed(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
}

/** Publishes counters with WINDOW in flight until stopped or the connection drops. */
class Publisher {
  readonly acked = new Set<number>();
  private next = 0;
  get nextCounter(): number {
    return this.next;
  }
  private inflight = 0;
  private stopped = false;
  private client: MqttClient | undefined;

  async run(port: number): Promise<void> {
    const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, {
      clientId: 'chaos-pub',
      clean: true,
      reconnectPeriod: 0,
      connectTimeout: 5000,
    });
    this.client = client;
    client.on('error', () => undefined);
    this.inflight = 0;
    const pump = (): void => {
      while (this.inflight < WINDOW && client.connected && !this.stopped) {
        const n = this.next++;
        this.inflight++;
        client.publish(`chaos/line${n % 4}/v`, String(n), { qos: 1 }, (err) => {
          this.inflight--;
          if (!err) this.acked.add(n);
          pump();
        });
      }
    };
    pump();
  }

  /** Stops publishing, waits for the acknowledgements still due, disconnects. */
  async finish(): Promise<void> {
    this.stopped = true;
    const client = this.client;
    this.client = undefined;
    if (!client) return;
    await waitFor(() => this.inflight === 0 || !client.connected, 10_000, 'the last PUBACKs');
    await client.endAsync(!client.connected);
  }
}

describe('SIGKILL under a steady QoS 1 flow', () => {
  const cleanup: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const step of cleanup.splice(0).reverse()) await step();
  });

  it('every acknowledged message reaches the upstream and the persistent session', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'tagwire-chaos-'));
    cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
    // Mosquitto drops past 1000 queued per subscriber by default: the collector must see everything.
    const upstream: MosquittoBroker = await startMosquitto({ extraConfig: 'max_queued_messages 0' });
    cleanup.push(() => upstream.stop());
    const upstreamSeen = new Set<number>();
    const collector = await mqtt.connectAsync(`mqtt://127.0.0.1:${upstream.port}`, { reconnectPeriod: 0 });
    cleanup.push(() => collector.endAsync(true));
    collector.on('message', (_t, payload) => upstreamSeen.add(Number(payload)));
    await collector.subscribeAsync('site/chaos/#', { qos: 1 });

    const port = await freePort();
    const config = path.join(dir, 'gateway.config.json');
    writeFileSync(
      config,
      JSON.stringify({
        gateway: { id: 'edge-chaos', dataDir: path.join(dir, 'data'), logLevel: 'warn' },
        broker: { listeners: [{ protocol: 'mqtt', host: '127.0.0.1', port }] },
        bridges: [
          {
            name: 'plant',
            url: `mqtt://127.0.0.1:${upstream.port}`,
            reconnect: { minDelayMs: 100, maxDelayMs: 300 },
            out: [{ filter: 'chaos/#', qos: 1, prefix: 'site/' }],
            outbox: { drainRatePerSec: 0 },
          },
        ],
      }),
    );

    let gateway = startGateway(config);
    cleanup.push(() => killed(gateway.child));
    await waitForPort(port, '127.0.0.1', 30_000).catch((err: Error) => {
      throw new Error(`${err.message}: ${gateway.output()}`);
    });

    // The local persistent subscriber, on one line of four: its session must hold everything
    // acknowledged on that line; it reconnects by itself after each restart. Messages on the other
    // lines have no persistent session to wait for: only the outbox stands behind their PUBACK.
    const localSeen = new Set<number>();
    const subscriber = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, {
      clientId: 'chaos-sub',
      clean: false,
      reconnectPeriod: 100,
    });
    cleanup.push(() => subscriber.endAsync(true));
    subscriber.on('error', () => undefined);
    subscriber.on('message', (_t, payload) => localSeen.add(Number(payload)));
    await subscriber.subscribeAsync('chaos/line0/#', { qos: 1 });

    const publisher = new Publisher();
    const killedAt: number[] = [];
    cleanup.push(() => publisher.finish());
    for (let round = 0; round <= KILLS; round++) {
      await publisher.run(port);
      // A steady flow for a while (at least 1000 acknowledged this round), then the kill.
      const before = publisher.acked.size;
      await waitFor(() => publisher.acked.size >= before + 1000, 20_000, `round ${round} to flow`);
      await sleep(300 + Math.random() * 700);
      if (round === KILLS) break;
      await killed(gateway.child);
      killedAt.push(publisher.nextCounter);
      gateway = startGateway(config);
      await waitForPort(port, '127.0.0.1', 30_000).catch((err: Error) => {
        throw new Error(`${err.message}: ${gateway.output()}`);
      });
    }
    await publisher.finish();

    const acked = [...publisher.acked];
    const ackedLine0 = acked.filter((n) => n % 4 === 0);
    const missing = (seen: Set<number>, of = acked) => of.filter((n) => !seen.has(n));
    await waitFor(() => missing(upstreamSeen).length === 0, 30_000, 'acknowledged messages upstream').catch(
      () => undefined,
    );
    await waitFor(
      () => missing(localSeen, ackedLine0).length === 0,
      30_000,
      'acknowledged messages locally',
    ).catch(() => undefined);
    const lostUpstream = missing(upstreamSeen);
    const lostLocal = missing(localSeen, ackedLine0);
    console.log(
      `chaos: ${KILLS} kills (after messages ${killedAt.join(', ')}), ${acked.length} acknowledged, ${acked.length - lostUpstream.length} upstream, ${ackedLine0.length - lostLocal.length} of ${ackedLine0.length} on line0 in the persistent session`,
    );
    expect(acked.length).toBeGreaterThan(KILLS * 1000);
    expect(lostUpstream.slice(0, 20), `${lostUpstream.length} acknowledged messages not upstream`).toEqual(
      [],
    );
    expect(lostLocal.slice(0, 20), `${lostLocal.length} acknowledged messages not in the session`).toEqual(
      [],
    );
  }, 120_000);
});
