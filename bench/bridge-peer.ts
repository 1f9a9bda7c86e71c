// Bridge against the peer: the same MQTT.js publisher (QoS 1, a window of messages in flight) into
// tagwire, whose bridge forwards to an upstream Mosquitto, and into a local Mosquitto whose own
// bridge (`connection`, `topic ... out 1`) forwards to the same upstream. A consumer on the upstream
// times each run from the first publish to the last arrival. Rounds alternate; the ratio is printed.
// Run: npm run bench:bridge-peer   (BENCH_MESSAGES, BENCH_INFLIGHT, BENCH_ROUNDS, BENCH_WARMUP_ROUNDS)
// BENCH_BASELINE=/path/to/another/checkout adds that tagwire (e.g. main) to every round, for a
// before/after under the same load; BENCH_GATEWAY_ARGS adds node flags to tagwire (`--cpu-prof`).
// tagwire runs from its built bundle, as `npm start` runs it (built first when stale);
// BENCH_GATEWAY_FROM=source runs src/cli.ts through tsx instead (measured: ~4 ms more CPU per 1000
// messages); BENCH_GATEWAY_STDOUT=1 shows the gateway's stdout (for `--trace-gc`).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import mqtt from 'mqtt';
import { startMosquitto, type MosquittoBroker } from '../test/helpers/mosquitto.js';
import { freePort, waitFor, waitForPort } from '../test/helpers/net.js';
import { buildIfStale } from './bundle.js';
import { record } from './results.js';
import { median } from './stats.js';

const MESSAGES = Number(process.env.BENCH_MESSAGES ?? 20_000);
const INFLIGHT = Number(process.env.BENCH_INFLIGHT ?? 100);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const WARMUP_ROUNDS = Number(process.env.BENCH_WARMUP_ROUNDS ?? 3);
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

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
  /** The same for the other two busy processes: this one (publisher and consumer) and the upstream. */
  benchCpuPer1000: number;
  upstreamCpuPer1000: number;
}

let upstreamPid = 0;
/** This process's CPU time so far, ms. */
const ownCpuMs = () => {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
};

const fromSource = process.env.BENCH_GATEWAY_FROM === 'source';

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
  // As users run it (`npm start`: the built bundle), unless BENCH_GATEWAY_FROM=source asks for the
  // TypeScript sources through tsx (no build needed, e.g. for a profile that names source lines).
  const entry = fromSource
    ? ['--import', 'tsx', path.join(checkout, 'src/cli.ts')]
    : [path.join(checkout, 'dist/src/cli.js')];
  const args = [...extra, ...entry, 'start', '-c', file, '--no-watch'];
  const child = spawn(process.execPath, args, {
    cwd: checkout,
    stdio: ['ignore', process.env.BENCH_GATEWAY_STDOUT ? 'inherit' : 'ignore', 'inherit'],
  });
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
  const ownBefore = ownCpuMs();
  const upstreamBefore = cpuMs(upstreamPid);
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
  const own = ownCpuMs() - ownBefore;
  const upstream = cpuMs(upstreamPid) - upstreamBefore;
  await client.endAsync();
  const per1000 = (total: number) => (total * 1000) / MESSAGES;
  return {
    rate: (MESSAGES * 1000) / ms,
    cpuPer1000: per1000(cpu),
    benchCpuPer1000: per1000(own),
    upstreamCpuPer1000: per1000(upstream),
  };
}

/** Where a run's CPU went, ms per 1000 messages: the bridge, then publisher/consumer and upstream. */
const cpuText = (r: Result) =>
  `${r.cpuPer1000.toFixed(0)} ms CPU per 1000; pub/sub ${r.benchCpuPer1000.toFixed(0)}, upstream ${r.upstreamCpuPer1000.toFixed(0)}`;

async function main(): Promise<void> {
  const baselineRoot = process.env.BENCH_BASELINE;
  if (!fromSource) {
    buildIfStale(root);
    if (baselineRoot) buildIfStale(baselineRoot);
  }
  const dir = mkdtempSync(path.join(tmpdir(), 'tagwire-bench-bridge-peer-'));
  const upstream = await startMosquitto({ extraConfig: 'max_queued_messages 0\nmax_inflight_messages 0' });
  upstreamPid = upstream.process.pid!;
  const consumer = { received: 0 };
  const sub = await mqtt.connectAsync(`mqtt://127.0.0.1:${upstream.port}`, { clientId: 'bench-consumer' });
  sub.on('message', () => consumer.received++);
  await sub.subscribeAsync('bench/#', { qos: 1 });
  const tagwire = await startTagwire(dir, upstream.port);
  const peer = await startMosquittoBridge(dir, upstream.port);
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
    console.log(`    baseline ${Math.round(r.rate)} msg/s (${cpuText(r)})`);
  };
  // Warm-up of each, not counted. A fresh tagwire's CPU per message settles only after ~60,000
  // messages (measured: 29, then 19, then 15 ms per 1000 in its first three runs of 20,000), and a
  // gateway runs for months: the rounds measure the steady state. Mosquitto gets the same warm-up.
  for (let i = 0; i < WARMUP_ROUNDS; i++) {
    await ourRun('warmup');
    await baseRun('warmup');
    await theirRun('warmup');
  }
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
      `  round ${round + 1}: tagwire ${Math.round(a.rate)} msg/s (${cpuText(a)}), ` +
        `Mosquitto bridge ${Math.round(b.rate)} msg/s (${cpuText(b)}), ratio ${(a.rate / b.rate).toFixed(2)}x`,
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
