// `npm run bench:scaling`: CPU and RSS of the gateway (the built CLI, `tagwire start`, in its own
// process) as one dimension grows, to size a PC: tags (1k, 10k, 100k over 10 Modbus devices),
// devices (1, 10, 100 with 100 tags each), idle MQTT clients (10, 1k, 10k) and subscribers of one
// device's topic (1, 10, 100; 1,000 tags published every second). Every tag is polled every 1 s and
// published every 1 s (`publish: periodic`, QoS 0). The Modbus simulators run in one child process
// (bench/modbus-peer.ts) and the MQTT clients in this one, so neither counts as the gateway's.
// BENCH_SETTLE_MS (default 3000) and BENCH_WINDOW_MS (default 5000) set each step's timing.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import { freePort, sleep } from '../test/helpers/net.js';
import { BenchClient } from './broker-client.js';
import { buildIfStale } from './bundle.js';
import { record, type Figures } from './results.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const SETTLE_MS = Number(process.env.BENCH_SETTLE_MS ?? 3000);
const WINDOW_MS = Number(process.env.BENCH_WINDOW_MS ?? 5000);
const MAX_DEVICES = 100;

/** CPU seconds (user + system) and RSS of a process, from /proc (Linux). */
function procStat(pid: number): { cpuSeconds: number; rssMb: number } {
  const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const rssKb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? NaN);
  return { cpuSeconds: (Number(fields[11]) + Number(fields[12])) / 100, rssMb: rssKb / 1024 };
}

interface Gateway {
  proc: ChildProcess;
  mqttPort: number;
  dir: string;
}

/** The gateway with `devices` Modbus devices of `tagsPerDevice` uint16 tags each, ready. */
async function startGateway(simPorts: number[], devices: number, tagsPerDevice: number): Promise<Gateway> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tagwire-scaling-'));
  const mqttPort = await freePort();
  const ids = Array.from({ length: devices }, (_, d) => `dev${d}`);
  const mappings = ids.map((id) => {
    const file = path.join(dir, `${id}.json`);
    const tags = Array.from({ length: tagsPerDevice }, (_, i) => ({
      name: `t${i}`,
      address: `hr:${i}`,
      type: 'uint16',
    }));
    const defaults = { pollMs: 1000, publish: 'periodic', periodMs: 1000, qos: 0 };
    fs.writeFileSync(file, JSON.stringify({ device: id, topic: `scale/${id}`, defaults, tags }));
    return file;
  });
  const config = {
    gateway: { id: 'scaling', dataDir: path.join(dir, 'data'), logLevel: 'warn' },
    broker: { listeners: [{ protocol: 'mqtt', host: '127.0.0.1', port: mqttPort }], allowAnonymous: true },
    devices: ids.map((id, d) => ({
      id,
      driver: 'modbus',
      transport: { type: 'tcp', host: '127.0.0.1', port: simPorts[d]! },
      unitId: 1,
    })),
    mappings,
    bridges: [],
    http: { host: '127.0.0.1', port: await freePort(), allowAnonymous: true, anonymousRole: 'viewer' },
  };
  const file = path.join(dir, 'gateway.config.json');
  fs.writeFileSync(file, JSON.stringify(config));
  const proc = spawn(process.execPath, [path.join(ROOT, 'dist/src/cli.js'), 'start', '-c', file], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`gateway not ready after 120 s:\n${output}`)), 120_000);
    const onData = (c: Buffer) => {
      output += c.toString();
      if (/running \(started in \d+ ms\)/.test(output)) {
        clearTimeout(timer);
        resolve();
      }
    };
    proc.stdout!.on('data', onData);
    proc.stderr!.on('data', onData);
    proc.once('exit', (code) => reject(new Error(`gateway exited ${code}:\n${output}`)));
  });
  return { proc, mqttPort, dir };
}

async function stopGateway(gw: Gateway): Promise<void> {
  if (gw.proc.exitCode === null) {
    const gone = new Promise((r) => gw.proc.once('exit', r));
    gw.proc.kill('SIGTERM');
    const timer = setTimeout(() => gw.proc.kill('SIGKILL'), 10_000);
    await gone;
    clearTimeout(timer);
  }
  fs.rmSync(gw.dir, { recursive: true, force: true });
}

interface Step {
  cpuPct: number;
  rssMb: number;
}

/** The gateway's CPU (% of one core) over the window after a settle, and its peak RSS in it. */
async function measure(pid: number): Promise<Step> {
  await sleep(SETTLE_MS);
  const s0 = procStat(pid);
  const t0 = performance.now();
  let rssMb = s0.rssMb;
  while (performance.now() - t0 < WINDOW_MS) {
    await sleep(250);
    rssMb = Math.max(rssMb, procStat(pid).rssMb);
  }
  const s1 = procStat(pid);
  const cpuPct = ((s1.cpuSeconds - s0.cpuSeconds) / ((performance.now() - t0) / 1000)) * 100;
  return { cpuPct: Math.round(cpuPct * 10) / 10, rssMb: Math.round(rssMb) };
}

/** Cost per unit between two points of a sweep, to say how it grows. */
function growth(rows: { n: number; step: Step }[], per: number, unit: string): string {
  const parts: string[] = [];
  for (let i = 1; i < rows.length; i++) {
    const a = rows[i - 1]!;
    const b = rows[i]!;
    const dn = b.n - a.n;
    // A step smaller than `per` (0 -> 10 clients) is given as it is, not scaled up with its noise.
    const scale = Math.min(dn, per);
    const cpu = ((b.step.cpuPct - a.step.cpuPct) / dn) * scale;
    const rss = ((b.step.rssMb - a.step.rssMb) / dn) * scale;
    const signed = (x: number, digits: number) => `${x >= 0 ? '+' : ''}${x.toFixed(digits)}`;
    const what = scale === per ? `per ${per === 1 ? '' : `${per} `}${unit}` : `for those ${dn}`;
    parts.push(`${a.n}->${b.n}: ${signed(cpu, 2)}% CPU and ${signed(rss, 2)} MB ${what}`);
  }
  return parts.join('; ');
}

function table(
  title: string,
  unit: string,
  rows: { n: number; step: Step; extra?: string }[],
  per = 1,
): void {
  console.log(`\n${title}`);
  console.log(
    `| ${unit} | gateway CPU % of a core | gateway RSS MB |${rows[0]?.extra ? ' delivered msg/s |' : ''}`,
  );
  console.log(`|---:|---:|---:|${rows[0]?.extra ? '---:|' : ''}`);
  for (const r of rows)
    console.log(
      `| ${r.n.toLocaleString('en')} | ${r.step.cpuPct} | ${r.step.rssMb} |${r.extra ? ` ${r.extra} |` : ''}`,
    );
  console.log(`growth: ${growth(rows, per, unit.replace(/s$/, per === 1 ? '' : 's'))}`);
}

async function main(): Promise<void> {
  buildIfStale();
  console.log(
    `bench:scaling: node ${process.version}, ${os.cpus().length} cores, load ${os.loadavg()[0]!.toFixed(1)}; settle ${SETTLE_MS} ms, window ${WINDOW_MS} ms`,
  );
  const peer = path.join(ROOT, 'bench', 'modbus-peer.ts');
  const sims = spawn(process.execPath, ['--import', 'tsx', peer, String(MAX_DEVICES)], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const ports = await new Promise<number[]>((resolve, reject) => {
    readline.createInterface({ input: sims.stdout! }).on('line', (line) => {
      if (line.startsWith('ports ')) resolve(JSON.parse(line.slice(6)) as number[]);
    });
    sims.once('exit', (code) => reject(new Error(`simulators exited ${code}`)));
  });
  const figures: Figures = {};
  try {
    const sweep = async (devices: number, tagsPerDevice: number) => {
      const gw = await startGateway(ports, devices, tagsPerDevice);
      try {
        return await measure(gw.proc.pid!);
      } finally {
        await stopGateway(gw);
      }
    };

    const tagRows = [];
    for (const tags of [1000, 10_000, 100_000]) tagRows.push({ n: tags, step: await sweep(10, tags / 10) });
    table('Tags (10 devices, polled and published every 1 s, no subscriber)', 'tags', tagRows, 1000);
    figures.tags = Object.fromEntries(tagRows.map((r) => [String(r.n), { ...r.step }]));

    const deviceRows = [];
    for (const devices of [1, 10, 100]) deviceRows.push({ n: devices, step: await sweep(devices, 100) });
    table('Devices (100 tags each, one TCP connection each)', 'devices', deviceRows);
    figures.devices = Object.fromEntries(deviceRows.map((r) => [String(r.n), { ...r.step }]));

    // Clients and subscribers: one gateway, one device of 1,000 tags, clients added step by step.
    const gw = await startGateway(ports, 1, 1000);
    const clients: BenchClient[] = [];
    try {
      const pid = gw.proc.pid!;
      const clientRows = [{ n: 0, step: await measure(pid) }];
      for (const target of [10, 1000, 10_000]) {
        while (clients.length < target) {
          const batch = Math.min(250, target - clients.length);
          const base = clients.length;
          clients.push(
            ...(await Promise.all(
              Array.from({ length: batch }, (_, i) => BenchClient.connect(gw.mqttPort, `idle-${base + i}`)),
            )),
          );
        }
        clientRows.push({ n: target, step: await measure(pid) });
      }
      table(
        'Idle MQTT clients (connected, no subscription; 1 device of 1,000 tags running)',
        'clients',
        clientRows,
        1000,
      );
      figures.idleClients = Object.fromEntries(clientRows.map((r) => [String(r.n), { ...r.step }]));
      for (const c of clients.splice(0)) c.close();
      await sleep(2000);

      const subRows = [];
      let delivered = 0;
      for (const target of [1, 10, 100]) {
        while (clients.length < target) {
          const c = await BenchClient.connect(gw.mqttPort, `sub-${clients.length}`);
          c.handlers.onMessage = () => delivered++;
          await c.subscribe('scale/dev0/#', 0);
          clients.push(c);
        }
        const before = delivered;
        const t0 = performance.now();
        const step = await measure(pid);
        const rate = Math.round(((delivered - before) * 1000) / (performance.now() - t0));
        subRows.push({ n: target, step, extra: rate.toLocaleString('en'), rate });
      }
      table(
        'Subscribers of one topic filter (scale/dev0/#: 1,000 tags, 1,000 msg/s each)',
        'subscribers',
        subRows,
      );
      figures.subscribers = Object.fromEntries(
        subRows.map((r) => [String(r.n), { ...r.step, deliveredPerSec: r.rate }]),
      );
    } finally {
      for (const c of clients) c.close();
      await stopGateway(gw);
    }
    record('scaling', figures);
  } finally {
    sims.stdin!.end();
    const timer = setTimeout(() => sims.kill('SIGKILL'), 5000);
    await new Promise((r) => sims.once('exit', r));
    clearTimeout(timer);
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
