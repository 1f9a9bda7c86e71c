// `npm run bench:modbus-fleet`: the gateway as a user runs it, polling 20 real libmodbus servers of
// 1,000 tags each (800 scaled uint16, 200 float32) every second, `publish: periodic`, QoS 0, on
// `scale/#`. Phases, in one gateway process: no subscriber; one `mosquitto_sub` (Mosquitto's C
// client, which reads packet by packet); after it left; then Mosquitto itself relaying the same
// message rate from a publisher to the same `mosquitto_sub`. Prints CPU (% of one core) and RSS of
// the gateway (or of Mosquitto) from /proc, and what the subscriber got against what was due.
// The libmodbus server (bench/fixtures/libmodbus_tcp_server.c) is compiled with gcc into .cache/.
// BENCH_DEVICES=100 (`npm run bench:modbus-100k`): 100,000 tags, the Modbus 100k row of issue 16.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import mqtt from 'mqtt';
import { record } from './results.js';
import { freePort, waitForPort } from '../test/helpers/net.js';

const ROOT = path.resolve(import.meta.dirname, '..');
const CACHE = path.join(ROOT, '.cache');
const DEVICES = Number(process.env.BENCH_DEVICES ?? 20);
const SCALED = 800;
const FLOATS = 200;
const TAGS = SCALED + FLOATS;
const WINDOW_MS = Number(process.env.BENCH_WINDOW_MS ?? 20_000);
const SETTLE_MS = 5_000;
const TICKS_PER_SECOND = 100; // Linux USER_HZ, the unit of /proc/<pid>/stat times
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
}

function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : 0;
}

function stop(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    const t = setTimeout(() => child.kill('SIGKILL'), 5000);
    child.once('exit', () => (clearTimeout(t), resolve()));
    child.kill('SIGTERM');
  });
}

/** The libmodbus server binary, compiled when missing or older than its source. */
function libmodbusServer(): string {
  const source = path.join(ROOT, 'bench', 'fixtures', 'libmodbus_tcp_server.c');
  const binary = path.join(CACHE, 'libmodbus_tcp_server');
  if (existsSync(binary) && statSync(binary).mtimeMs >= statSync(source).mtimeMs) return binary;
  mkdirSync(CACHE, { recursive: true });
  const flags = spawnSync('pkg-config', ['--cflags', '--libs', 'libmodbus'], { encoding: 'utf8' });
  if (flags.status !== 0) throw new Error('libmodbus not found (Debian: apt install libmodbus-dev)');
  const gcc = spawnSync('gcc', ['-O2', '-o', binary, source, ...flags.stdout.trim().split(/\s+/)], {
    stdio: 'inherit',
  });
  if (gcc.status !== 0) throw new Error(`gcc could not compile ${source}`);
  return binary;
}

/** The gateway bundled into plain JS (no TypeScript loader in its memory); packages stay external. */
function bundleGateway(): string {
  const out = path.join(CACHE, 'bench-gateway', 'cli.mjs');
  const res = spawnSync(
    path.join(ROOT, 'node_modules', '.bin', 'esbuild'),
    [
      path.join(ROOT, 'src', 'cli.ts'),
      '--bundle',
      '--splitting',
      '--platform=node',
      '--format=esm',
      '--packages=external',
      `--outdir=${path.dirname(out)}`,
      '--out-extension:.js=.mjs',
      '--log-level=warning',
    ],
    { stdio: 'inherit' },
  );
  if (res.status !== 0) throw new Error('esbuild could not bundle src/cli.ts');
  return out;
}

/** One mapping per device: 800 scaled uint16 then 200 float32, published every second. */
function mapping(device: number): object {
  const tags: object[] = [];
  for (let i = 0; i < SCALED; i++)
    tags.push({ name: `u${i}`, address: `hr:${i}`, type: 'uint16', scale: 0.1 });
  for (let i = 0; i < FLOATS; i++)
    tags.push({ name: `f${i}`, address: `hr:${SCALED + 2 * i}`, type: 'float32' });
  return {
    device: `d${device}`,
    topic: `scale/d${device}`,
    defaults: { pollMs: 1000, publish: 'periodic', periodMs: 1000, qos: 0 },
    tags,
  };
}

interface Window {
  cpuPct: number;
  rssAvgMb: number;
  rssPeakMb: number;
  delivered: number;
  expected: number;
  /** Messages the broker dropped for a subscriber that fell behind ($SYS), when known. */
  dropped?: number;
}

/** Counters a broker publishes under $SYS/broker/messages/ (received, sent, dropped). */
type SysCounters = () => { received: number; dropped: number };

/**
 * CPU and RSS of `pid` over WINDOW_MS, and what `received()` gained against what was due: the
 * messages the broker took in over the window ($SYS), or `ratePerSec` without counters.
 */
async function measure(
  pid: number,
  received: () => number,
  ratePerSec: number,
  sys?: SysCounters,
): Promise<Window> {
  const cpu0 = cpuSeconds(pid);
  const got0 = received();
  const sys0 = sys?.();
  const t0 = performance.now();
  const rss: number[] = [];
  while (performance.now() - t0 < WINDOW_MS) {
    rss.push(rssMb(pid));
    await sleep(250);
  }
  const seconds = (performance.now() - t0) / 1000;
  const sys1 = sys?.();
  return {
    cpuPct: ((cpuSeconds(pid) - cpu0) / seconds) * 100,
    rssAvgMb: rss.reduce((a, b) => a + b, 0) / rss.length,
    rssPeakMb: Math.max(...rss),
    delivered: received() - got0,
    expected: sys0 && sys1 ? sys1.received - sys0.received : Math.round(ratePerSec * seconds),
    ...(sys0 && sys1 ? { dropped: sys1.dropped - sys0.dropped } : {}),
  };
}

/**
 * The gateway's $SYS counters, republished every second. They come at whole seconds, so a window's
 * figures are those of the last report before its start and end (the window length stays the same).
 */
async function sysCounters(port: number): Promise<{ counters: SysCounters; close: () => void }> {
  const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, { clientId: 'fleet-sys' });
  const latest = { received: 0, dropped: 0 };
  client.on('message', (topic, payload) => {
    const key = topic.slice(topic.lastIndexOf('/') + 1);
    if (key === 'received' || key === 'dropped') latest[key] = Number(payload.toString());
  });
  await client.subscribeAsync('$SYS/broker/messages/+');
  return { counters: () => ({ ...latest }), close: () => void client.end(true) };
}

/** `mosquitto_sub` on `filter`, printing one line per message, counted here. */
function mosquittoSub(port: number, filter: string): { received: () => number; child: ChildProcess } {
  const child = spawn(
    'mosquitto_sub',
    ['-h', '127.0.0.1', '-p', String(port), '-i', `fleet-sub-${port}`, '-t', filter, '-q', '0', '-F', 'x'],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  let received = 0;
  child.stdout!.on('data', (chunk: Buffer) => {
    for (let i = 0; i < chunk.length; i++) if (chunk[i] === 10) received++;
  });
  return { received: () => received, child };
}

async function untilSubscribed(received: () => number): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (received() === 0 && Date.now() < deadline) await sleep(50);
  if (received() === 0) throw new Error('the subscriber received nothing in 30 s');
}

/** Mosquitto relaying DEVICES x TAGS messages a second, in per-device bursts as the gateway publishes. */
async function mosquittoRelay(dir: string): Promise<Window> {
  const port = await freePort();
  const conf = path.join(dir, 'mosquitto.conf');
  writeFileSync(
    conf,
    [`listener ${port} 127.0.0.1`, 'allow_anonymous true', 'persistence false', 'log_type error', ''].join(
      '\n',
    ),
  );
  const broker = spawn('mosquitto', ['-c', conf], { stdio: ['ignore', 'ignore', 'inherit'] });
  await waitForPort(port, '127.0.0.1', 20_000);
  const sub = mosquittoSub(port, 'scale/#');
  const publisher = net.connect({ port, host: '127.0.0.1' });
  await new Promise((r) => publisher.once('connect', r));
  const id = Buffer.from('fleet-pub');
  publisher.write(
    Buffer.concat([
      Buffer.from([0x10, 10 + 2 + id.length, 0, 4]),
      Buffer.from('MQTT'),
      Buffer.from([4, 0x02, 0, 60, 0, id.length]),
      id,
    ]),
  );
  publisher.resume();
  // The payloads the gateway sends: JSON per the payload contract, same topics.
  const burst = (device: number): Buffer => {
    const ts = Date.now();
    const packets: Buffer[] = [];
    for (let i = 0; i < TAGS; i++) {
      const tag = i < SCALED ? `u${i}` : `f${i - SCALED}`;
      const topic = Buffer.from(`scale/d${device}/${tag}`);
      const value = i < SCALED ? ((i * 7 + (ts >> 10)) % 65536) / 10 : 1234.5678 + i;
      const payload = Buffer.from(`{"value":${value},"ts":${ts},"quality":"good"}`);
      const length = 2 + topic.length + payload.length;
      const size = length < 128 ? [length] : [(length & 0x7f) | 0x80, length >> 7];
      packets.push(Buffer.from([0x30, ...size, topic.length >> 8, topic.length & 255]));
      packets.push(topic, payload);
    }
    return Buffer.concat(packets);
  };
  let device = 0;
  let sent = 0;
  const timer = setInterval(() => {
    // One device's burst every 1000/DEVICES ms: DEVICES x TAGS messages a second.
    publisher.write(burst(device));
    sent += TAGS;
    device = (device + 1) % DEVICES;
  }, 1000 / DEVICES);
  await untilSubscribed(sub.received);
  await sleep(2000);
  const result = await measure(broker.pid!, sub.received, DEVICES * TAGS, () => ({
    received: sent,
    dropped: NaN,
  }));
  clearInterval(timer);
  publisher.destroy();
  await stop(sub.child);
  await stop(broker);
  return result;
}

function row(name: string, w: Window, subscribed: boolean): string {
  const got = subscribed
    ? `${w.delivered} / ${w.expected} (${((100 * w.delivered) / w.expected).toFixed(1)}%)`
    : '-';
  const dropped = w.dropped === undefined || Number.isNaN(w.dropped) ? '-' : String(w.dropped);
  return `| ${name} | ${w.cpuPct.toFixed(1)} | ${w.rssAvgMb.toFixed(0)} | ${w.rssPeakMb.toFixed(0)} | ${got} | ${dropped} |`;
}

async function main(): Promise<void> {
  const server = libmodbusServer();
  // BENCH_GATEWAY: a gateway bundled elsewhere (another build, to compare in the same minute).
  const gatewayScript = process.env.BENCH_GATEWAY ?? bundleGateway();
  const dir = mkdtempSync(path.join(tmpdir(), 'tagwire-fleet-'));
  const servers: ChildProcess[] = [];
  let gateway: ChildProcess | undefined;
  try {
    const ports: number[] = [];
    for (let d = 0; d < DEVICES; d++) {
      const port = await freePort();
      ports.push(port);
      servers.push(spawn(server, [String(port)], { stdio: ['ignore', 'ignore', 'inherit'] }));
    }
    await Promise.all(ports.map((p) => waitForPort(p, '127.0.0.1', 20_000)));
    const mqttPort = await freePort();
    mkdirSync(path.join(dir, 'mappings'));
    for (let d = 0; d < DEVICES; d++)
      writeFileSync(path.join(dir, 'mappings', `d${d}.json`), JSON.stringify(mapping(d)));
    const config = {
      gateway: { id: 'fleet', dataDir: path.join(dir, 'data'), logLevel: 'warn' },
      broker: {
        listeners: [{ protocol: 'mqtt', host: '127.0.0.1', port: mqttPort }],
        allowAnonymous: true,
        sys: { intervalSec: 1 },
      },
      devices: ports.map((port, d) => ({
        id: `d${d}`,
        driver: 'modbus',
        transport: { type: 'tcp', host: '127.0.0.1', port },
        unitId: 1,
      })),
      mappings: [path.join(dir, 'mappings', '*.json')],
    };
    const configFile = path.join(dir, 'gateway.config.json');
    writeFileSync(configFile, JSON.stringify(config, null, 2));
    const nodeFlags = (process.env.BENCH_NODE_FLAGS ?? '').split(' ').filter(Boolean);
    // BENCH_NODE_FLAGS (e.g. `--cpu-prof`, `--trace-gc`) go to the gateway's node; its output to ours.
    gateway = spawn(
      process.execPath,
      [...nodeFlags, gatewayScript, 'start', '-c', configFile, '--no-watch'],
      {
        stdio: ['ignore', nodeFlags.length > 0 ? 'inherit' : 'ignore', 'inherit'],
      },
    );
    await waitForPort(mqttPort, '127.0.0.1', 20_000);
    const pid = gateway.pid!;
    const rate = DEVICES * TAGS;

    // A probe subscriber confirms every device publishes before the first window.
    const probe = mosquittoSub(mqttPort, 'scale/+/u0');
    const deadline = Date.now() + 60_000;
    while (probe.received() < 2 * DEVICES && Date.now() < deadline) await sleep(100);
    await stop(probe.child);
    if (probe.received() < 2 * DEVICES) throw new Error('not every device publishes');
    await sleep(SETTLE_MS);

    const sys = await sysCounters(mqttPort);
    const alone = await measure(pid, () => 0, rate, sys.counters);
    const sub = mosquittoSub(mqttPort, 'scale/#');
    await untilSubscribed(sub.received);
    await sleep(SETTLE_MS);
    const withSub = await measure(pid, sub.received, rate, sys.counters);
    await stop(sub.child);
    await sleep(SETTLE_MS);
    const after = await measure(pid, () => 0, rate, sys.counters);
    sys.close();
    const relay = await mosquittoRelay(dir);

    console.log(
      `# Modbus fleet: ${DEVICES} libmodbus servers x ${TAGS} tags (${SCALED} scaled uint16, ${FLOATS} float32), 1 s, periodic, QoS 0 (node ${process.version})\n`,
    );
    console.log(
      `Windows of ${WINDOW_MS / 1000} s; CPU in % of one core and RSS of that process (/proc). Published and dropped: the gateway's $SYS counters (Mosquitto: what the publisher sent).\n`,
    );
    console.log('| run | CPU % | RSS avg MB | RSS peak MB | delivered / published | dropped by the broker |');
    console.log('|---|---:|---:|---:|---:|---:|');
    console.log(row('gateway, no subscriber', alone, false));
    console.log(row('gateway, one mosquitto_sub on scale/#', withSub, true));
    console.log(row('gateway, after the subscriber left', after, false));
    console.log(row(`Mosquitto relaying ${rate} msg/s to the same mosquitto_sub`, relay, true));
    console.log(
      `\nGateway with the subscriber / Mosquitto relaying: CPU ${(withSub.cpuPct / relay.cpuPct).toFixed(2)}x.`,
    );
    console.log(
      `Load average at the end: ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')}.`,
    );
    console.log(
      DEVICES === 100
        ? 'Target (100k tags @ 1 s to a mosquitto_sub over TCP): < 50% of a core and < 250 MB.'
        : 'Target: < 25% of a core and < 200 MB with the subscriber, every sample delivered.',
    );
    const figures = (w: typeof alone) => ({ cpuPct: w.cpuPct, rssAvgMb: w.rssAvgMb, rssPeakMb: w.rssPeakMb });
    record(DEVICES === 100 ? 'modbus-100k' : 'modbus-fleet', {
      noSubscriber: figures(alone),
      withSubscriber: { ...figures(withSub), delivered: withSub.delivered },
      afterSubscriber: figures(after),
      mosquittoRelay: figures(relay),
    });
  } finally {
    if (gateway) await stop(gateway);
    await Promise.all(servers.map(stop));
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
