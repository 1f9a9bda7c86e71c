// Bridge against the peer: the same MQTT.js publisher (QoS 1, a window of messages in flight) into
// tagwire, whose bridge forwards to an upstream Mosquitto, and into a local Mosquitto whose own
// bridge (`connection`, `topic ... out 1`) forwards to the same upstream. A consumer on the upstream
// times each run from the first publish to the last arrival. Rounds alternate; the ratio is printed.
// Run: npm run bench:bridge-peer   (BENCH_MESSAGES, BENCH_INFLIGHT, BENCH_ROUNDS)
// BENCH_BASELINE=/path/to/another/checkout adds that tagwire (e.g. main) to every round, for a
// before/after under the same load; BENCH_GATEWAY_ARGS adds node flags to tagwire (`--cpu-prof`).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import mqtt from 'mqtt';
import { startMosquitto, type MosquittoBroker } from '../test/helpers/mosquitto.js';
import { freePort, waitFor, waitForPort } from '../test/helpers/net.js';
import { record } from './results.js';

const MESSAGES = Number(process.env.BENCH_MESSAGES ?? 20_000);
const INFLIGHT = Number(process.env.BENCH_INFLIGHT ?? 100);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** CPU time (user + system) a process has used so far, ms. */
function cpuMs(pid: number): number {
  // After the command name, utime and stime (fields 14 and 15 of proc(5)) are at 11 and 12.
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100; // clock ticks of 10 ms
}

interface Result {
  rate: number;
  /** CPU of the bridging process (tagwire, or the local Mosquitto) per 1000 messages, ms. */
  cpuPer1000: number;
}

/** tagwire alone in its own process: a broker listener and one bridge to the upstream. */
async function startTagwire(
  dir: string,
  upstreamPort: number,
  checkout = root,
  id = 'bench',
): Promise<{ port: number; child: ChildProcess }> {
  const port = await freePort();
  const file = path.join(dir, `${id}.config.json`);
  writeFileSync(
    file,
    JSON.stringify({
      gateway: { id, dataDir: path.join(dir, `${id}-data`), logLevel: 'warn' },
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
  // BENCH_GATEWAY_ARGS: extra node flags for the gateway, e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof`.
  const extra = (process.env.BENCH_GATEWAY_ARGS ?? '').split(' ').filter((a) => a !== '');
  const args = [
    ...extra,
    '--import',
    'tsx',
    path.join(checkout, 'src/cli.ts'),
    'start',
    '-c',
    file,
    '--no-watch',
  ];
  const child = spawn(process.execPath, args, { cwd: checkout, stdio: ['ignore', 'ignore', 'inherit'] });
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

/** Publishes MESSAGES at QoS 1 with INFLIGHT in flight, until the last one is upstream. */
async function run(
  port: number,
  bridgePid: number,
  consumer: { received: number },
  label: string,
): Promise<Result> {
  const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, {
    reconnectPeriod: 0,
    clientId: `pub-${label}`,
  });
  const payload = Buffer.from('{"value":21.5,"ts":1763726400123,"quality":"good","unit":"degC"}');
  const base = consumer.received;
  const cpuBefore = cpuMs(bridgePid);
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
  const cpu = cpuMs(bridgePid) - cpuBefore;
  await client.endAsync();
  return { rate: (MESSAGES * 1000) / ms, cpuPer1000: (cpu * 1000) / MESSAGES };
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
  const baselineRoot = process.env.BENCH_BASELINE;
  const baseline = baselineRoot
    ? await startTagwire(dir, upstream.port, baselineRoot, 'baseline')
    : undefined;
  await new Promise((resolve) => setTimeout(resolve, 1000)); // both bridges connected

  const load = () => loadavg()[0]!.toFixed(1);
  const loadBefore = load();
  const ours: Result[] = [];
  const theirs: Result[] = [];
  const ratios: number[] = [];
  const ourRun = (label: string) => run(tagwire.port, tagwire.child.pid!, consumer, `tagwire-${label}`);
  const theirRun = (label: string) => run(peer.port, peer.process.pid!, consumer, `mosquitto-${label}`);
  const baseRuns: Result[] = [];
  const baseRun = async (label: string) => {
    if (!baseline) return;
    const r = await run(baseline.port, baseline.child.pid!, consumer, `baseline-${label}`);
    if (label !== 'warmup') baseRuns.push(r);
    console.log(`    baseline ${Math.round(r.rate)} msg/s (${r.cpuPer1000.toFixed(0)} ms CPU per 1000)`);
  };
  // Warm-up of each, not counted.
  await ourRun('warmup');
  await baseRun('warmup');
  await theirRun('warmup');
  for (let round = 0; round < ROUNDS; round++) {
    // Who goes first alternates too, so a load that drifts during a round favours neither.
    let a: Result;
    let b: Result;
    if (round % 2 === 0) {
      a = await ourRun(String(round));
      await baseRun(String(round));
      b = await theirRun(String(round));
    } else {
      b = await theirRun(String(round));
      await baseRun(String(round));
      a = await ourRun(String(round));
    }
    ours.push(a);
    theirs.push(b);
    ratios.push(a.rate / b.rate);
    console.log(
      `  round ${round + 1}: tagwire ${Math.round(a.rate)} msg/s (${a.cpuPer1000.toFixed(0)} ms CPU per 1000), ` +
        `Mosquitto bridge ${Math.round(b.rate)} msg/s (${b.cpuPer1000.toFixed(0)} ms CPU per 1000), ratio ${(a.rate / b.rate).toFixed(2)}x`,
    );
  }
  const t = median(ours.map((r) => r.rate));
  const m = median(theirs.map((r) => r.rate));
  console.log(
    `bridge vs Mosquitto's bridge, ${MESSAGES} msgs QoS 1 in and out, ${INFLIGHT} in flight, same upstream Mosquitto, ${ROUNDS} alternating rounds, load average ${loadBefore} -> ${load()}`,
  );
  console.log(
    `  tagwire: ${Math.round(t)} msg/s, ${median(ours.map((r) => r.cpuPer1000)).toFixed(0)} ms CPU per 1000 msgs; ` +
      `Mosquitto 2 bridge: ${Math.round(m)} msg/s, ${median(theirs.map((r) => r.cpuPer1000)).toFixed(0)} ms CPU per 1000 msgs`,
  );
  if (baseline)
    console.log(
      `  baseline (${baselineRoot}): ${Math.round(median(baseRuns.map((r) => r.rate)))} msg/s, ` +
        `${median(baseRuns.map((r) => r.cpuPer1000)).toFixed(0)} ms CPU per 1000 msgs`,
    );
  console.log(
    `  ratio ${median(ratios).toFixed(2)}x (median of the rounds' ratios; ${(t / m).toFixed(2)}x of the median rates)`,
  );
  record('bridge-peer', { tagwireMsgPerSec: Math.round(t), mosquittoMsgPerSec: Math.round(m), ratio: t / m });

  await sub.endAsync();
  tagwire.child.kill('SIGTERM');
  await new Promise((resolve) => tagwire.child.once('exit', resolve));
  if (baseline) {
    baseline.child.kill('SIGTERM');
    await new Promise((resolve) => baseline.child.once('exit', resolve));
  }
  await peer.stop();
  await upstream.stop();
  rmSync(dir, { recursive: true, force: true });
}

await main();
