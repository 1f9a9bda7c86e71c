// Bridge against the peer: the same MQTT.js publisher (QoS 1, a window of messages in flight) into
// tagwire, whose bridge forwards to an upstream Mosquitto, and into a local Mosquitto whose own
// bridge (`connection`, `topic ... out 1`) forwards to the same upstream. A consumer on the upstream
// times each run from the first publish to the last arrival. Rounds alternate; the ratio is printed.
// Run: npm run bench:bridge-peer   (BENCH_MESSAGES, BENCH_INFLIGHT, BENCH_ROUNDS)
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import mqtt from 'mqtt';
import { startMosquitto, type MosquittoBroker } from '../test/helpers/mosquitto.js';
import { freePort, waitFor, waitForPort } from '../test/helpers/net.js';

const MESSAGES = Number(process.env.BENCH_MESSAGES ?? 20_000);
const INFLIGHT = Number(process.env.BENCH_INFLIGHT ?? 100);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** tagwire alone in its own process: a broker listener and one bridge to the upstream. */
async function startTagwire(
  dir: string,
  upstreamPort: number,
): Promise<{ port: number; child: ChildProcess }> {
  const port = await freePort();
  const file = path.join(dir, 'gateway.config.json');
  writeFileSync(
    file,
    JSON.stringify({
      gateway: { id: 'bench', dataDir: path.join(dir, 'data'), logLevel: 'warn' },
      broker: {
        listeners: [{ protocol: 'mqtt', host: '127.0.0.1', port }],
        allowAnonymous: true,
        sys: { intervalSec: 0 },
      },
      devices: [],
      mappings: [],
      bridges: [
        {
          name: 'plant',
          url: `mqtt://127.0.0.1:${upstreamPort}`,
          out: [{ filter: 'bench/#', qos: 1 }],
          outbox: { drainRatePerSec: 0, inflight: INFLIGHT },
          statusIntervalSec: 0,
        },
      ],
    }),
  );
  const args = ['--import', 'tsx', path.join(root, 'src/cli.ts'), 'start', '-c', file, '--no-watch'];
  const child = spawn(process.execPath, args, { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] });
  await waitForPort(port, '127.0.0.1', 60_000);
  return { port, child };
}

/** A local Mosquitto bridging `bench/#` out at QoS 1 to the upstream. */
async function startMosquittoBridge(dir: string, upstreamPort: number): Promise<MosquittoBroker> {
  const config = [
    'connection plant',
    `address 127.0.0.1:${upstreamPort}`,
    'topic bench/# out 1',
    'cleansession true',
    `max_inflight_messages ${INFLIGHT}`,
    'max_queued_messages 0',
  ].join('\n');
  void dir;
  return startMosquitto({ extraConfig: config });
}

/** Publishes MESSAGES at QoS 1 with INFLIGHT in flight; resolves with ms until the last one is upstream. */
async function run(port: number, consumer: { received: number }, label: string): Promise<number> {
  const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, {
    reconnectPeriod: 0,
    clientId: `pub-${label}`,
  });
  const payload = Buffer.from('{"value":21.5,"ts":1763726400123,"quality":"good","unit":"degC"}');
  const base = consumer.received;
  const start = performance.now();
  let sent = 0;
  let acked = 0;
  await new Promise<void>((resolve) => {
    const pump = () => {
      while (sent < MESSAGES && sent - acked < INFLIGHT) {
        const n = sent++;
        client.publish(`bench/line${n % 10}/value`, payload, { qos: 1 }, () => {
          acked++;
          if (acked === MESSAGES) resolve();
          else pump();
        });
      }
    };
    pump();
  });
  await waitFor(() => consumer.received - base >= MESSAGES, 120_000, `${label}: every message upstream`);
  const ms = performance.now() - start;
  await client.endAsync();
  return ms;
}

async function main(): Promise<void> {
  const dir = mkdtempSync(path.join(tmpdir(), 'tagwire-bench-bridge-peer-'));
  const upstream = await startMosquitto({ extraConfig: 'max_queued_messages 0\nmax_inflight_messages 0' });
  const consumer = { received: 0 };
  const sub = await mqtt.connectAsync(`mqtt://127.0.0.1:${upstream.port}`, { clientId: 'bench-consumer' });
  sub.on('message', () => consumer.received++);
  await sub.subscribeAsync('bench/#', { qos: 1 });
  const tagwire = await startTagwire(dir, upstream.port);
  const peer = await startMosquittoBridge(dir, upstream.port);
  await new Promise((resolve) => setTimeout(resolve, 1000)); // both bridges connected

  const ours: number[] = [];
  const theirs: number[] = [];
  // Warm-up of each, not counted.
  await run(tagwire.port, consumer, 'tagwire-warmup');
  await run(peer.port, consumer, 'mosquitto-warmup');
  for (let round = 0; round < ROUNDS; round++) {
    const a = (MESSAGES * 1000) / (await run(tagwire.port, consumer, `tagwire-${round}`));
    const b = (MESSAGES * 1000) / (await run(peer.port, consumer, `mosquitto-${round}`));
    ours.push(a);
    theirs.push(b);
    console.log(
      `  round ${round + 1}: tagwire ${Math.round(a)} msg/s, Mosquitto bridge ${Math.round(b)} msg/s`,
    );
  }
  const t = median(ours);
  const m = median(theirs);
  console.log(
    `bridge vs Mosquitto's bridge, ${MESSAGES} msgs QoS 1 in and out, ${INFLIGHT} in flight, same upstream Mosquitto, ${ROUNDS} alternating rounds`,
  );
  console.log(
    `  tagwire: ${Math.round(t)} msg/s; Mosquitto 2 bridge: ${Math.round(m)} msg/s; ratio ${(t / m).toFixed(2)}x (median)`,
  );

  await sub.endAsync();
  tagwire.child.kill('SIGTERM');
  await new Promise((resolve) => tagwire.child.once('exit', resolve));
  await peer.stop();
  await upstream.stop();
  rmSync(dir, { recursive: true, force: true });
}

await main();
