// OPC UA benchmark: notifications/s, CPU and RSS of the driver (the gateway's OPC UA side) for 1k and
// 10k monitored items at 100 ms and 1 s, and write round-trip times. The server runs in a child
// process (node-opcua's, the simulator) and the driver in another (bench/opcua-gateway.ts, bundled, plain
// node, as the built gateway runs), so the figures are the gateway side alone.
// Peer figures (NeuronEX): 10k points at 100 ms for 36% of 4 cores and 199 MB; writes 6/12/19 ms.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { OpcuaDriver } from '../drivers/opcua/driver.js';
import { withDeviceDefaults } from '../drivers/opcua/defaults.js';
import type { DriverLogger, TagConfig } from '../drivers/types.js';
import { silentLogger } from '../src/log.js';
import { bundleBench } from './bundle.js';
import { record, type Figures } from './results.js';

const MEASURE_MS = Number(process.env.BENCH_MEASURE_MS ?? 10_000);
const WRITES = Number(process.env.BENCH_WRITES ?? 200);
const PEER = { cpuPctOf4Cores: 36, rssMb: 199, write: { min: 6, avg: 12, max: 19 } };

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

interface Server {
  proc: ChildProcess;
  url: string;
  /** Update rounds the server reported last (each changes every point once). */
  rounds(): number;
}

async function startServer(points: number, intervalMs: number): Promise<Server> {
  const script = fileURLToPath(new URL('./opcua-sim.ts', import.meta.url));
  const pkiDir = path.join(os.tmpdir(), `tagwire-opcua-bench-sim-${os.userInfo().uid}`);
  const port = await freePort();
  const proc = spawn(
    process.execPath,
    ['--import', 'tsx', script, String(port), pkiDir, String(points), String(intervalMs)],
    {
      stdio: ['ignore', 'pipe', 'ignore'],
    },
  );
  let rounds = 0;
  proc.stdout!.on('data', (c: Buffer) => {
    const all = [...c.toString().matchAll(/ROUNDS (\d+)/g)];
    if (all.length > 0) rounds = Number(all.at(-1)![1]);
  });
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error('server not ready after 120 s')), 120_000);
    proc.stdout!.on('data', (c: Buffer) => {
      out += c.toString();
      const m = /READY (\S+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    });
    proc.once('exit', (code) => reject(new Error(`server exited ${code}`)));
  });
  return { proc, url, rounds: () => rounds };
}

async function stopServer(proc: ChildProcess): Promise<void> {
  if (proc.exitCode !== null) return;
  const gone = new Promise<void>((r) => proc.once('exit', () => r()));
  proc.kill('SIGKILL');
  await gone;
}

function makeDriver(url: string, tags: TagConfig[], publishingIntervalMs: number, dataDir: string) {
  return new OpcuaDriver(
    withDeviceDefaults({
      id: 'bench',
      endpointUrl: url,
      publishingIntervalMs,
      connectTimeoutMs: 120_000,
      requestTimeoutMs: 30_000,
    }),
    tags,
    {
      onSamples: () => undefined,
      onStatus: () => undefined,
      log: silentLogger() as unknown as DriverLogger,
      dataDir,
    },
  );
}

/** CPU seconds (user + system) a process used so far, from /proc (Linux). */
function procCpuSeconds(pid: number | undefined): number {
  if (pid === undefined) return NaN;
  try {
    const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100; // utime + stime in clock ticks (100 Hz)
  } catch {
    return NaN;
  }
}

interface Row {
  points: number;
  intervalMs: number;
  expectedPerSec: number;
  /** Changes the server really made per second (its timer falls behind on a loaded machine). */
  producedPerSec: number;
  notificationsPerSec: number;
  cpuPctOneCore: number;
  rssMb: number;
  heapMb: number;
  serverCpuPctOneCore: number;
  /** Gateway CPU per notification: comparable across loads and rates. */
  cpuUsPerNotification: number;
  setupMs: number;
}

interface GatewayStat {
  count: number;
  seen: number;
  rss: number;
  heapUsed: number;
  cpuUs: number;
}

/** The driver in its own plain-node process (bench/opcua-gateway.ts): the gateway side alone. */
function startGateway(url: string, points: number, intervalMs: number, dataDir: string) {
  const proc = spawn(
    process.execPath,
    [gatewayScript(), url, String(points), String(intervalMs), process.env.BENCH_QUEUE ?? '10', dataDir],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  let last: GatewayStat = { count: 0, seen: 0, rss: 0, heapUsed: 0, cpuUs: 0 };
  let rssMax = 0;
  let buffered = '';
  proc.stdout!.on('data', (c: Buffer) => {
    buffered += c.toString();
    const lines = buffered.split('\n');
    buffered = lines.pop()!;
    for (const line of lines) {
      const f = line.split(' ');
      if (f[0] !== 'STAT') continue;
      const [count, seen, rss, heapUsed, , cpuUs] = f.slice(1).map(Number) as number[];
      last = { count: count!, seen: seen!, rss: rss!, heapUsed: heapUsed!, cpuUs: cpuUs! };
      rssMax = Math.max(rssMax, rss!);
    }
  });
  return {
    proc,
    stat: () => last,
    /** Peak RSS since the last call. */
    takeRssMax: () => {
      const peak = rssMax;
      rssMax = 0;
      return peak;
    },
  };
}

let bundled: string | undefined;
const gatewayScript = () => (bundled ??= bundleBench('opcua-gateway'));

async function subscriptionRun(points: number, intervalMs: number, dataDir: string): Promise<Row> {
  const server = await startServer(points, intervalMs);
  const { proc, url } = server;
  const gateway = startGateway(url, points, intervalMs, dataDir);
  try {
    const t0 = Date.now();
    const deadline = Date.now() + 180_000;
    while (gateway.stat().seen < points && Date.now() < deadline) {
      if (gateway.proc.exitCode !== null) throw new Error(`gateway exited ${gateway.proc.exitCode}`);
      await sleep(50);
    }
    if (gateway.stat().seen < points)
      throw new Error(`only ${gateway.stat().seen}/${points} items delivered within 180 s`);
    const setupMs = Date.now() - t0;
    await sleep(2000); // settle
    const s0 = gateway.stat();
    const server0 = procCpuSeconds(proc.pid);
    const rounds0 = server.rounds();
    const w0 = performance.now();
    gateway.takeRssMax();
    await sleep(MEASURE_MS);
    const s1 = gateway.stat();
    const wall = performance.now() - w0;
    const rssMax = gateway.takeRssMax();
    const cpuUs = s1.cpuUs - s0.cpuUs;
    const delivered = s1.count - s0.count;
    const serverCpu = procCpuSeconds(proc.pid) - server0;
    const produced = (server.rounds() - rounds0) * points;
    return {
      points,
      intervalMs,
      expectedPerSec: Math.round((points * 1000) / intervalMs),
      producedPerSec: Math.round((produced * 1000) / wall),
      notificationsPerSec: Math.round((delivered * 1000) / wall),
      cpuPctOneCore: Math.round((cpuUs / 1000 / wall) * 1000) / 10,
      rssMb: Math.round(rssMax / 1048576),
      heapMb: Math.round(s1.heapUsed / 1048576),
      serverCpuPctOneCore: Math.round((serverCpu / (wall / 1000)) * 1000) / 10,
      cpuUsPerNotification: Math.round((cpuUs / Math.max(1, delivered)) * 100) / 100,
      setupMs,
    };
  } finally {
    await stopServer(gateway.proc);
    await stopServer(proc);
  }
}

function summary(times: number[]) {
  const sorted = [...times].sort((a, b) => a - b);
  const r2 = (n: number) => Math.round(n * 100) / 100;
  return {
    min: r2(sorted[0]!),
    avg: r2(times.reduce((a, b) => a + b, 0) / times.length),
    p99: r2(sorted[Math.max(0, Math.ceil(sorted.length * 0.99) - 1)]!),
    max: r2(sorted.at(-1)!),
  };
}

async function writeRun(dataDir: string) {
  const { proc, url } = await startServer(0, 1000);
  try {
    const driver = makeDriver(
      url,
      [
        {
          name: 'd',
          address: 'ns=2;s=Types.Double',
          type: 'Double',
          pollMs: 1000,
          writable: true,
          mode: 'poll',
        },
      ],
      1000,
      dataDir,
    );
    await driver.start();
    const deadline = Date.now() + 60_000;
    while (driver.status().state !== 'connected' && Date.now() < deadline) await sleep(50);
    await driver.write('d', 0); // DataType read once, then cached
    const times: number[] = [];
    for (let i = 0; i < WRITES; i++) {
      const t = performance.now();
      const r = await driver.write('d', i + 0.5);
      times.push(performance.now() - t);
      if (!r.ok) throw new Error(`write failed: ${r.error}`);
    }
    await driver.stop();
    // The Write service alone (what a peer's "write time" usually is): same server, one plain session.
    const opcua = await import('node-opcua');
    const client = opcua.OPCUAClient.create({
      endpointMustExist: false,
      connectionStrategy: { maxRetry: 1 },
    });
    await client.connect(url);
    const session = await client.createSession();
    const raw: number[] = [];
    for (let i = 0; i < WRITES; i++) {
      const t = performance.now();
      const status = await session.write({
        nodeId: 'ns=2;s=Types.Double',
        attributeId: opcua.AttributeIds.Value,
        value: { value: new opcua.Variant({ dataType: opcua.DataType.Double, value: i + 0.25 }) },
      });
      raw.push(performance.now() - t);
      if (!status.isGood()) throw new Error(`raw write failed: ${status.name}`);
    }
    await session.close();
    await client.disconnect();
    return { command: summary(times), service: summary(raw) };
  } finally {
    await stopServer(proc);
  }
}

async function main() {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tagwire-opcua-bench-'));
  const only = process.env.BENCH_CASES; // e.g. "1000x1000,10000x100"
  const cases: [number, number][] = [
    [1000, 1000],
    [1000, 100],
    [10000, 1000],
    [10000, 100],
  ];
  console.log(
    `OPC UA bench: node ${process.version}, ${os.cpus().length} cores (${os.cpus()[0]?.model ?? '?'}), measure ${MEASURE_MS} ms`,
  );
  console.log(
    'points  interval  expected/s  produced/s  notifications/s  cpu(% of 1 core)  cpu us/notif  rss MB  heap MB  server cpu %  setup ms',
  );
  const rows: Row[] = [];
  for (const [points, intervalMs] of cases) {
    if (only && !only.split(',').includes(`${points}x${intervalMs}`)) continue;
    const row = await subscriptionRun(points, intervalMs, dataDir);
    rows.push(row);
    console.log(
      `${String(points).padStart(6)}  ${String(intervalMs).padStart(6)} ms  ${String(row.expectedPerSec).padStart(10)}  ${String(row.producedPerSec).padStart(10)}  ${String(row.notificationsPerSec).padStart(15)}  ${String(row.cpuPctOneCore).padStart(16)}  ${String(row.cpuUsPerNotification).padStart(12)}  ${String(row.rssMb).padStart(6)}  ${String(row.heapMb).padStart(7)}  ${String(row.serverCpuPctOneCore).padStart(12)}  ${String(row.setupMs).padStart(8)}`,
    );
  }
  const { command: w, service: ws } = await writeRun(dataDir);
  console.log(
    `driver write (checks + Write + read-back, ${WRITES} writes): min ${w.min} / avg ${w.avg} / p99 ${w.p99} / max ${w.max} ms`,
  );
  console.log(
    `Write service alone (${WRITES} writes): min ${ws.min} / avg ${ws.avg} / p99 ${ws.p99} / max ${ws.max} ms`,
  );
  const big = rows.find((r) => r.points === 10000 && r.intervalMs === 100);
  if (big) {
    const peerCpuOneCore = PEER.cpuPctOf4Cores * 4;
    // At the full 100k/s (when the server keeps up), at the measured cost per notification.
    const projected = Math.round((big.cpuUsPerNotification * big.expectedPerSec) / 1e4) / 1;
    console.log(
      `projected at the full ${big.expectedPerSec}/s: ${projected}% of one core (${(projected / 4).toFixed(1)}% of 4 cores vs NeuronEX ${PEER.cpuPctOf4Cores}%)`,
    );
    console.log(
      `vs NeuronEX (10k @ 100 ms): cpu ${big.cpuPctOneCore}% of one core vs ${peerCpuOneCore}% (ratio ${(big.cpuPctOneCore / peerCpuOneCore).toFixed(2)}), ` +
        `rss ${big.rssMb} MB vs ${PEER.rssMb} MB (ratio ${(big.rssMb / PEER.rssMb).toFixed(2)}), ` +
        `delivered ${big.notificationsPerSec}/${big.expectedPerSec} per s`,
    );
  }
  console.log(
    `vs NeuronEX writes ${PEER.write.min}/${PEER.write.avg}/${PEER.write.max} ms (min/avg/max ratios): driver write ` +
      `${(w.min / PEER.write.min).toFixed(2)}/${(w.avg / PEER.write.avg).toFixed(2)}/${(w.max / PEER.write.max).toFixed(2)}, ` +
      `Write service ${(ws.min / PEER.write.min).toFixed(2)}/${(ws.avg / PEER.write.avg).toFixed(2)}/${(ws.max / PEER.write.max).toFixed(2)}`,
  );
  const figures: Figures = {
    write: { avgMs: w.avg, p99Ms: w.p99 },
    writeService: { avgMs: ws.avg, p99Ms: ws.p99 },
  };
  for (const r of rows)
    figures[`${r.points}x${r.intervalMs}`] = {
      notificationsPerSec: r.notificationsPerSec,
      cpuPct: r.cpuPctOneCore,
      cpuUsPerNotification: r.cpuUsPerNotification,
      rssMb: r.rssMb,
      setupMs: r.setupMs,
    };
  record('opcua', figures);
  fs.rmSync(dataDir, { recursive: true, force: true });
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
