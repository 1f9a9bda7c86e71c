// `npm run bench:modbus`: the Modbus driver at 1k, 10k and 100k tags against our simulator.
// Prints requests per scan (planned vs one per tag), scan time, and for steady 1 s polling the
// gateway process's CPU and RSS, measured end to end: poll, decode, JSON per the payload contract,
// publish through the embedded broker to an MQTT.js subscriber. The simulators and the subscriber
// run in a child process (bench/modbus-peer.ts) so their CPU is not counted as the gateway's.
import { spawn } from 'node:child_process';
import readline from 'node:readline';
import type { BrokerMessage } from '../src/broker/api.js';
import { Broker } from '../src/broker/broker.js';
import { parseBrokerConfig } from '../src/broker/config.js';
import { silentLogger } from '../src/log.js';
import { modbusDeviceConfig } from '../drivers/modbus/config.js';
import { modbusDriver } from '../drivers/modbus/index.js';
import type { Driver, DriverContext, DriverLogger, TagConfig, TagSample } from '../drivers/types.js';

const TAGS_PER_DEVICE = 1000;
const SIZES = (process.env.BENCH_SIZES ?? '1000,10000,100000').split(',').map(Number);
const STEADY_MS = Number(process.env.BENCH_STEADY_MS ?? 20_000);
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
      tags.push({ name: `t${i}`, address: `coil:${coil++}`, type: 'bool', pollMs, writable: false });
      continue;
    }
    const type = kind < 4 ? 'uint16' : kind < 8 ? 'float32' : 'uint32';
    tags.push({
      name: `t${i}`,
      address: `hr:${register}`,
      type,
      pollMs,
      writable: false,
      ...(kind < 4 ? { scale: 0.1 } : {}),
    });
    register += type === 'uint16' ? 1 : 2;
  }
  return tags;
}

const topics = new Map<string, string>();

/** A sample as the mapping publishes it: topic built once per tag, JSON per the payload contract. */
function encode(device: number, sample: TagSample): BrokerMessage {
  const reason = sample.quality === 'good' ? '' : `,"reason":${JSON.stringify(sample.reason)}`;
  const key = `${device}/${sample.tag}`;
  let topic = topics.get(key);
  if (topic === undefined) topics.set(key, (topic = `bench/d${key}`));
  return {
    topic,
    payload: Buffer.from(
      `{"value":${JSON.stringify(sample.value)},"ts":${sample.ts},"quality":"${sample.quality}"${reason}}`,
    ),
    qos: 0,
    retain: false,
  };
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

async function main(): Promise<void> {
  const maxDevices = Math.max(...SIZES) / TAGS_PER_DEVICE;
  const sims = spawn(process.execPath, ['--import', 'tsx', 'bench/modbus-peer.ts', String(maxDevices)], {
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
  // The subscriber is Mosquitto's C client (cheap per message), printing one byte and a newline per message.
  const subscriber = spawn(
    'mosquitto_sub',
    [
      '-h',
      '127.0.0.1',
      '-p',
      String(broker.listening()[0]?.port),
      '-i',
      'bench-sub',
      '-t',
      'bench/#',
      '-q',
      '0',
      '-F',
      'x',
    ],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  let received = 0;
  subscriber.stdout.on('data', (chunk: Buffer) => {
    for (let i = 0; i < chunk.length; i++) if (chunk[i] === 10) received++;
  });
  await sleep(1000);

  const baseRss = process.memoryUsage().rss / 2 ** 20;
  console.log(
    `# Modbus benchmark (node ${process.version}, ${TAGS_PER_DEVICE} tags per device, one TCP connection each, maxInFlight 4)\n`,
  );
  console.log(
    '| tags | devices | requests/scan (planned) | requests/scan (one per tag) | scan time, ms (median of 5) | CPU at 1 s, % of one core | RSS max, MB | samples/s | delivered to MQTT subscriber/s | overruns |',
  );
  console.log('|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const tags of SIZES) {
    const devices = tags / TAGS_PER_DEVICE;
    const { planned, scanMs } = await measureScan(ports, devices);

    // Steady state: every tag polled each second and published through the broker.
    global.gc?.();
    const fleet = await startFleet(ports, devices, 1000, process.env.BENCH_NO_BROKER ? undefined : broker);
    await sleep(WARMUP_MS);
    const samples0 = fleet.samples;
    const received0 = received;
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    let rssMax = 0;
    const rssTimer = setInterval(() => (rssMax = Math.max(rssMax, process.memoryUsage().rss)), 250);
    await sleep(STEADY_MS);
    clearInterval(rssTimer);
    const wallMs = performance.now() - t0;
    const cpu = process.cpuUsage(cpu0);
    const cpuPct = ((cpu.user + cpu.system) / 1000 / wallMs) * 100;
    const heapMb = process.memoryUsage().heapUsed / 2 ** 20;
    if (global.gc) {
      global.gc();
      console.error(
        `live heap after gc: ${(process.memoryUsage().heapUsed / 2 ** 20).toFixed(0)} MB, rss ${(process.memoryUsage().rss / 2 ** 20).toFixed(0)} MB`,
      );
    }
    const overruns = fleet.drivers.reduce((n, d) => n + (d.status().overruns ?? 0), 0);
    const samplesPerSec = ((fleet.samples - samples0) * 1000) / wallMs;
    const deliveredPerSec = ((received - received0) * 1000) / wallMs;
    await Promise.all(fleet.drivers.map((d) => d.stop()));
    console.log(
      `| ${tags} | ${devices} | ${planned} | ${tags} | ${scanMs.toFixed(1)} | ${cpuPct.toFixed(1)} | ${(rssMax / 2 ** 20).toFixed(0)} (heap ${heapMb.toFixed(0)}) | ${samplesPerSec.toFixed(0)} | ${deliveredPerSec.toFixed(0)} | ${overruns} |`,
    );
    await sleep(1500);
  }
  console.log(`\nRSS of the process before any device (node, loader, broker): ${baseRss.toFixed(0)} MB.`);
  console.log(
    '\nNeuronEX (published): 10k tags at 1 s: 3% of 4 cores (12% of one core), 199 MB; 100k: 30% of 4 cores (120% of one core), 497 MB.',
  );
  console.log('Target: 100k tags at 1 s under 50% of one core and under 250 MB.');
  await broker.stop();
  subscriber.kill();
  sims.stdin.end();
  await new Promise((r) => sims.once('exit', r));
}

await main();
