// `npm run bench:modbus`: the Modbus driver at 1k, 10k and 100k tags against our simulator.
// Prints requests per scan (planned vs one per tag), scan time, and for steady 1 s polling the
// gateway process's CPU and RSS, measured end to end: poll, decode, JSON per the payload contract,
// publish through the embedded broker to a mosquitto_sub subscriber. The simulators run in a child
// process (bench/modbus-peer.ts) and the subscriber is its own process, so neither counts as the gateway.
// Runs as TypeScript (`npm run bench:modbus`) or compiled (`tsc --outDir X`, then `node X/bench/modbus.js`).
import { spawn } from 'node:child_process';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { BrokerMessage } from '../src/broker/api.js';
import { Broker } from '../src/broker/broker.js';
import { parseBrokerConfig } from '../src/broker/config.js';
import { silentLogger } from '../src/log.js';
import { modbusDeviceConfig, modbusTagConfig } from '../drivers/modbus/config.js';
import { modbusDriver } from '../drivers/modbus/index.js';
import type { Driver, DriverContext, DriverLogger, TagConfig, TagSample } from '../drivers/types.js';
import { record, type Figures } from './results.js';

const TAGS_PER_DEVICE = 1000;
const SIZES = (process.env.BENCH_SIZES ?? '1000,10000,100000').split(',').map(Number);
const STEADY_MS = Number(process.env.BENCH_STEADY_MS ?? 20_000);
// Also: BENCH_SUBSCRIBER=local (see main).
const WARMUP_MS = 5_000;

const quiet: DriverLogger = { debug() {}, info() {}, warn() {}, error() {}, child: () => quiet };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** 1000 tags: 40% uint16, 40% float32, 10% uint32 on holding registers, 10% coils; a small gap every 50 tags. */
function deviceTags(pollMs: number): TagConfig[] {
  const tags: TagConfig[] = [];
  let register = 0;
  let coil = 0;
  for (let i = 0; i < TAGS_PER_DEVICE; i++) {
    const kind = i % 10;
    if (i % 50 === 49) register += 2;
    if (kind === 9) {
      tags.push(
        modbusTagConfig({ name: `t${i}`, address: `coil:${coil++}`, type: 'bool', pollMs, writable: false }),
      );
      continue;
    }
    const type = kind < 4 ? 'uint16' : kind < 8 ? 'float32' : 'uint32';
    tags.push(
      modbusTagConfig({
        name: `t${i}`,
        address: `hr:${register}`,
        type,
        pollMs,
        writable: false,
        ...(kind < 4 ? { scale: 0.1 } : {}),
      }),
    );
    register += type === 'uint16' ? 1 : 2;
  }
  return tags;
}

/** Topics per device and tag, built once, as the mapping does. */
const topics: Map<string, string>[] = [];

/** A sample as the mapping publishes it: JSON per the payload contract. */
function encode(device: number, sample: TagSample): BrokerMessage {
  const byTag = (topics[device] ??= new Map());
  let topic = byTag.get(sample.tag);
  if (topic === undefined) byTag.set(sample.tag, (topic = `bench/d${device}/${sample.tag}`));
  const value =
    typeof sample.value === 'number' || typeof sample.value === 'boolean'
      ? String(sample.value)
      : JSON.stringify(sample.value);
  const payload =
    sample.quality === 'good'
      ? `{"value":${value},"ts":${sample.ts},"quality":"good"}`
      : `{"value":${value},"ts":${sample.ts},"quality":"${sample.quality}","reason":${JSON.stringify(sample.reason)}}`;
  return { topic, payload: Buffer.from(payload), qos: 0, retain: false };
}

interface Fleet {
  drivers: Driver[];
  samples: number;
  firstBatch: Set<number>;
}

async function startFleet(
  ports: number[],
  devices: number,
  pollMs: number,
  broker: Broker | undefined,
): Promise<Fleet> {
  const fleet: Fleet = { drivers: [], samples: 0, firstBatch: new Set() };
  for (let d = 0; d < devices; d++) {
    const ctx: DriverContext = {
      onSamples: (batch) => {
        fleet.samples += batch.length;
        fleet.firstBatch.add(d);
        broker?.publishBatch(batch.map((s) => encode(d, s)));
      },
      onStatus: () => {},
      log: quiet,
      dataDir: '/tmp',
    };
    const device = modbusDeviceConfig({
      id: `d${d}`,
      transport: { type: 'tcp', host: '127.0.0.1', port: ports[d] as number, maxInFlight: 4 },
      timeoutMs: 5000,
    });
    fleet.drivers.push(modbusDriver.create(device, deviceTags(pollMs), ctx));
  }
  await Promise.all(fleet.drivers.map((x) => x.start()));
  const deadline = Date.now() + 60_000;
  while (fleet.firstBatch.size < devices && Date.now() < deadline) await sleep(50);
  if (fleet.firstBatch.size < devices)
    throw new Error(`only ${fleet.firstBatch.size} of ${devices} devices answered`);
  return fleet;
}

/** Requests per scan and scan time, with drivers idle after their first scan; each figure is one fresh read of every tag. */
async function measureScan(ports: number[], devices: number): Promise<{ planned: number; scanMs: number }> {
  const idle = await startFleet(ports, devices, 3_600_000, undefined);
  const planned = idle.drivers.reduce((n, d) => n + (d.status().counters?.requestsPerScan ?? 0), 0);
  const names = deviceTags(1000).map((t) => t.name);
  const times: number[] = [];
  for (let i = 0; i < 5; i++) {
    const t0 = performance.now();
    const results = await Promise.all(idle.drivers.map((d) => d.read(names)));
    times.push(performance.now() - t0);
    const bad = results.flat().filter((s) => s.quality !== 'good').length;
    if (bad > 0) throw new Error(`${bad} bad samples in a scan`);
  }
  await Promise.all(idle.drivers.map((d) => d.stop()));
  return { planned, scanMs: [...times].sort((a, b) => a - b)[2] as number };
}

interface Steady {
  cpuPct: number;
  rssMb: number;
  samplesPerSec: number;
  deliveredPerSec: number;
  overruns: number;
}

/** Every tag polled each second for STEADY_MS after a warm-up; CPU and RSS of this process. */
async function measureSteady(
  ports: number[],
  devices: number,
  broker: Broker | undefined,
  received: () => number,
): Promise<Steady> {
  global.gc?.();
  const fleet = await startFleet(ports, devices, 1000, broker);
  await sleep(WARMUP_MS);
  const samples0 = fleet.samples;
  const received0 = received();
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  let rssMax = 0;
  const rssTimer = setInterval(() => (rssMax = Math.max(rssMax, process.memoryUsage().rss)), 250);
  await sleep(STEADY_MS);
  clearInterval(rssTimer);
  const wallMs = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  const result: Steady = {
    cpuPct: ((cpu.user + cpu.system) / 1000 / wallMs) * 100,
    rssMb: rssMax / 2 ** 20,
    samplesPerSec: ((fleet.samples - samples0) * 1000) / wallMs,
    deliveredPerSec: ((received() - received0) * 1000) / wallMs,
    overruns: fleet.drivers.reduce((n, d) => n + (d.status().overruns ?? 0), 0),
  };
  await Promise.all(fleet.drivers.map((d) => d.stop()));
  await sleep(1500);
  return result;
}

/** Mosquitto's C client as the MQTT subscriber (cheap per message): one `x` line per message. */
function startSubscriber(port: number): { received: () => number; stop: () => void } {
  const child = spawn(
    'mosquitto_sub',
    ['-h', '127.0.0.1', '-p', String(port), '-i', 'bench-sub', '-t', 'bench/#', '-q', '0', '-F', 'x'],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  let received = 0;
  child.stdout.on('data', (chunk: Buffer) => {
    for (let i = 0; i < chunk.length; i++) if (chunk[i] === 10) received++;
  });
  return { received: () => received, stop: () => child.kill() };
}

async function main(): Promise<void> {
  const maxDevices = Math.max(...SIZES) / TAGS_PER_DEVICE;
  // The peer beside this file: TypeScript through tsx, or compiled JavaScript run by node alone.
  const peerScript = fileURLToPath(
    new URL(`./modbus-peer${path.extname(fileURLToPath(import.meta.url))}`, import.meta.url),
  );
  const loader = peerScript.endsWith('.ts') ? ['--import', 'tsx'] : [];
  const sims = spawn(process.execPath, [...loader, peerScript, String(maxDevices)], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const ports = await new Promise<number[]>((resolve) => {
    readline.createInterface({ input: sims.stdout }).on('line', (line) => {
      if (line.startsWith('ports ')) resolve(JSON.parse(line.slice(6)) as number[]);
    });
  });
  const broker = new Broker({
    config: parseBrokerConfig({ listeners: [{ protocol: 'mqtt', host: '127.0.0.1', port: 0 }] }),
    log: silentLogger(),
  });
  await broker.start();
  // BENCH_SUBSCRIBER=local: an in-process subscription instead of mosquitto_sub, which separates the
  // broker's routing from its socket delivery to a subscriber that may fall behind.
  let localReceived = 0;
  const subscriber =
    process.env.BENCH_SUBSCRIBER === 'local'
      ? (broker.subscribe('bench/#', () => localReceived++),
        { received: () => localReceived, stop: () => {} })
      : startSubscriber(broker.listening()[0]?.port as number);
  await sleep(1000);

  const baseRss = process.memoryUsage().rss / 2 ** 20;
  const rows: string[] = [];
  const figures: Figures = {};
  for (const tags of SIZES) {
    const devices = tags / TAGS_PER_DEVICE;
    // Steady states first: the scan-time reads hold every sample of five scans at once, and the
    // heap they grow would otherwise be counted in the steady RSS.
    const alone = await measureSteady(ports, devices, undefined, () => 0);
    const e2e = await measureSteady(ports, devices, broker, subscriber.received);
    const { planned, scanMs } = await measureScan(ports, devices);
    figures[`tags${tags}`] = {
      driverCpuPct: alone.cpuPct,
      driverRssMb: alone.rssMb,
      endToEndCpuPct: e2e.cpuPct,
      endToEndRssMb: e2e.rssMb,
      deliveredPerSec: e2e.deliveredPerSec,
      requestsPerScan: planned,
    };
    rows.push(
      `| ${tags} | ${devices} | ${planned} | ${tags} | ${scanMs.toFixed(1)} | ${alone.cpuPct.toFixed(1)} | ${alone.rssMb.toFixed(0)} | ${alone.samplesPerSec.toFixed(0)} | ${e2e.cpuPct.toFixed(1)} | ${e2e.rssMb.toFixed(0)} | ${e2e.samplesPerSec.toFixed(0)} | ${e2e.deliveredPerSec.toFixed(0)} | ${alone.overruns}/${e2e.overruns} |`,
    );
  }
  console.log(
    `# Modbus benchmark (node ${process.version}, ${TAGS_PER_DEVICE} tags per device, one TCP connection each, maxInFlight 4)\n`,
  );
  console.log(
    'Polled every 1 s. "driver" = poll + decode into samples; "end to end" = also JSON per the payload contract, published',
  );
  console.log(
    'through the embedded broker to a mosquitto_sub subscriber. CPU in % of one core and RSS of this process only.\n',
  );
  console.log(
    '| tags | devices | requests/scan planned | requests/scan one per tag | scan time ms | driver CPU % | driver RSS MB | driver samples/s | end-to-end CPU % | end-to-end RSS MB | end-to-end samples/s | delivered to subscriber/s | overruns driver/e2e |',
  );
  console.log('|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const row of rows) console.log(row);
  console.log(
    `\nRSS of this process before any device (node, tsx loader, broker): ${baseRss.toFixed(0)} MB.`,
  );
  console.log(
    'NeuronEX (published): 10k tags at 1 s: 3% of 4 cores (12% of one core), 199 MB; 100k: 30% of 4 cores (120% of one core), 497 MB.',
  );
  console.log('Target: 100k tags at 1 s under 50% of one core and under 250 MB, end to end.');
  record('modbus', figures);
  subscriber.stop();
  await broker.stop();
  sims.stdin.end();
  await new Promise((r) => sims.once('exit', r));
}

await main();
