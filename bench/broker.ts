// `npm run bench:broker`: our broker and Debian's Mosquitto side by side, each in its own process
// on its own loopback port, the same load client against both, rounds alternating between them.
// Prints messages/s, broker CPU seconds per million messages, peak RSS, p50/p99 latency and
// our/Mosquitto ratios. Figures, not pass/fail: see docs/BENCHMARKS.md for a run.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { BenchClient, PublishTemplate, type Qos } from './broker-client.js';
import { record, type Figures } from './results.js';
import { bundleBench } from './bundle.js';
import { freePort, waitForPort } from '../test/helpers/net.js';
import { median } from './stats.js';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const IDLE_CONNECTIONS = Number(process.env.BENCH_IDLE ?? 10_000);
/** `idle`: only the idle-connection rows (fresh brokers), for a quick A/B of connection memory. */
const ONLY_IDLE = process.env.BENCH_ONLY === 'idle';
const PAYLOAD = 100;
const TICKS_PER_SECOND = 100; // Linux USER_HZ, the unit of /proc/<pid>/stat times
/** QoS 1/2 publishes a load publisher keeps unacknowledged, like a client with Receive Maximum 100. */
const PUBLISHER_INFLIGHT = 100;

interface BrokerProcess {
  name: 'tagwire' | 'mosquitto';
  port: number;
  child: ChildProcess;
  stop(): Promise<void>;
}

function stopper(child: ChildProcess): () => Promise<void> {
  return () =>
    new Promise((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      const t = setTimeout(() => child.kill('SIGKILL'), 5000);
      child.once('exit', () => (clearTimeout(t), resolve()));
      child.kill('SIGTERM');
    });
}

async function startTagwire(): Promise<BrokerProcess> {
  const port = await freePort();
  const child = spawn(process.execPath, [bundleBench('broker-server'), String(port)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => d.toString().includes('ready') && resolve());
    child.once('exit', (code) => reject(new Error(`tagwire broker exited with ${code}`)));
  });
  return { name: 'tagwire', port, child, stop: stopper(child) };
}

async function startMosquitto(dir: string): Promise<BrokerProcess> {
  const port = await freePort();
  const conf = path.join(dir, 'mosquitto.conf');
  // Same limits as ours: 100 in flight per client, deep queues, no persistence, Nagle off.
  writeFileSync(
    conf,
    [
      `listener ${port} 127.0.0.1`,
      'allow_anonymous true',
      'persistence false',
      'max_inflight_messages 100',
      'max_queued_messages 10000',
      'set_tcp_nodelay true',
      'log_type error',
      '',
    ].join('\n'),
  );
  const child = spawn('mosquitto', ['-c', conf], { stdio: ['ignore', 'ignore', 'inherit'] });
  await waitForPort(port, '127.0.0.1', 10_000);
  return { name: 'mosquitto', port, child, stop: stopper(child) };
}

function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
}

function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : 0;
}

interface Flow {
  name: string;
  publishers: number;
  subscribers: number;
  qos: Qos;
  /** Messages each publisher sends. */
  perPublisher: number;
  /** Most deliveries outstanding (sent, not yet received) at once, over all subscribers. */
  window: number;
}

interface Result {
  msgsPerSec: number;
  cpuPerMillion: number;
  peakRssMb: number;
  p50: number;
  p99: number;
  lost: number;
  /** CPU the load generator itself used, as a share of one core: near 1.0 means it limited the run. */
  loadCpuShare: number;
}

let runCounter = 0;

async function runFlow(broker: BrokerProcess, flow: Flow): Promise<Result> {
  const pid = broker.child.pid!;
  const run = `${broker.name}-${++runCounter}`;
  const subs = await Promise.all(
    Array.from({ length: flow.subscribers }, (_, i) => BenchClient.connect(broker.port, `${run}-s${i}`)),
  );
  const filter = flow.publishers > 1 ? `bench/${run}/+` : `bench/${run}/t`;
  await Promise.all(subs.map((s) => s.subscribe(filter, flow.qos)));
  const pubs = await Promise.all(
    Array.from({ length: flow.publishers }, (_, i) => BenchClient.connect(broker.port, `${run}-p${i}`)),
  );
  const templates = pubs.map(
    (_, i) =>
      new PublishTemplate(flow.publishers > 1 ? `bench/${run}/${i}` : `bench/${run}/t`, PAYLOAD, flow.qos),
  );
  const expected = flow.publishers * flow.perPublisher * flow.subscribers;
  const latencies = new Float64Array(expected);
  let delivered = 0;
  let sent = 0;
  const sentBy = new Array<number>(flow.publishers).fill(0);
  const ackedBy = new Array<number>(flow.publishers).fill(0);
  let pumpScheduled = false;
  let finish!: () => void;
  const done = new Promise<void>((r) => (finish = r));

  const pump = (): void => {
    pumpScheduled = false;
    const now = performance.now();
    let progressed = true;
    while (progressed) {
      progressed = false;
      for (let p = 0; p < pubs.length; p++) {
        if (sentBy[p]! >= flow.perPublisher) continue;
        if (flow.qos > 0 && sentBy[p]! - ackedBy[p]! >= PUBLISHER_INFLIGHT) continue;
        if ((sent + 1) * flow.subscribers - delivered > flow.window) return;
        const id = (sentBy[p]! % 65535) + 1;
        pubs[p]!.send(templates[p]!.make(id, now));
        sentBy[p]!++;
        sent++;
        progressed = true;
      }
    }
  };
  const schedulePump = (): void => {
    if (pumpScheduled) return;
    pumpScheduled = true;
    setImmediate(pump);
  };
  pubs.forEach((p, i) => {
    p.handlers.onComplete = () => {
      ackedBy[i]!++;
      schedulePump();
    };
  });
  for (const s of subs) {
    s.handlers.onMessage = (sentAt) => {
      if (delivered < expected) latencies[delivered] = performance.now() - sentAt;
      delivered++;
      if (delivered === expected) finish();
      schedulePump();
    };
  }

  let peakRss = rssMb(pid);
  const sampler = setInterval(() => (peakRss = Math.max(peakRss, rssMb(pid))), 100);
  const cpu0 = cpuSeconds(pid);
  const loadCpu0 = process.cpuUsage();
  const t0 = performance.now();
  pump();
  const timeout = new Promise<void>((r) => setTimeout(r, 60_000));
  await Promise.race([done, timeout]);
  const elapsed = (performance.now() - t0) / 1000;
  const cpu = cpuSeconds(pid) - cpu0;
  const loadCpu = process.cpuUsage(loadCpu0);
  clearInterval(sampler);
  peakRss = Math.max(peakRss, rssMb(pid));
  for (const c of [...subs, ...pubs]) c.close();
  await new Promise((r) => setTimeout(r, 300));

  const got = Math.min(delivered, expected);
  const sorted = latencies.subarray(0, got).sort();
  return {
    msgsPerSec: got / elapsed,
    cpuPerMillion: (cpu / Math.max(got, 1)) * 1e6,
    peakRssMb: peakRss,
    p50: sorted[Math.floor(got * 0.5)] ?? NaN,
    p99: sorted[Math.floor(got * 0.99)] ?? NaN,
    lost: expected - got,
    loadCpuShare: (loadCpu.user + loadCpu.system) / 1e6 / elapsed,
  };
}

async function idleConnections(
  broker: BrokerProcess,
  n: number,
): Promise<{ rssMb: number; seconds: number; connected: number }> {
  const pid = broker.child.pid!;
  const clients: BenchClient[] = [];
  const t0 = performance.now();
  const batch = 250;
  let failed = 0;
  for (let i = 0; i < n; i += batch) {
    const made = await Promise.allSettled(
      Array.from({ length: Math.min(batch, n - i) }, (_, j) =>
        BenchClient.connect(broker.port, `idle-${broker.name}-${i + j}`),
      ),
    );
    for (const m of made) {
      if (m.status === 'fulfilled') clients.push(m.value);
      else failed++;
    }
  }
  const seconds = (performance.now() - t0) / 1000;
  await new Promise((r) => setTimeout(r, 1500));
  const rss = rssMb(pid);
  for (const c of clients) c.close();
  await new Promise((r) => setTimeout(r, 2000));
  if (failed > 0) console.error(`${broker.name}: ${failed} idle connections failed`);
  return { rssMb: rss, seconds, connected: clients.length };
}

interface FreshIdle {
  beforeMb: number;
  withConnectionsMb: number;
  connected: number;
  seconds: number;
}

/**
 * Idle connections on a broker that has carried no load: what the connections themselves cost.
 * The row measured after the flows also holds whatever the flows left behind (heap not yet
 * collected, malloc arenas kept), which moves with any change on the delivery path.
 */
async function freshIdleConnections(start: () => Promise<BrokerProcess>, n: number): Promise<FreshIdle> {
  const broker = await start();
  try {
    await new Promise((r) => setTimeout(r, 1000));
    const beforeMb = rssMb(broker.child.pid!);
    const idle = await idleConnections(broker, n);
    return { beforeMb, withConnectionsMb: idle.rssMb, connected: idle.connected, seconds: idle.seconds };
  } finally {
    await broker.stop();
  }
}

function freshIdleRow(name: string, f: FreshIdle): string {
  const perConnectionKb = ((f.withConnectionsMb - f.beforeMb) * 1024) / Math.max(1, f.connected);
  return `| ${name} | ${fmt(f.beforeMb, 1)} | ${fmt(f.withConnectionsMb, 1)} | ${fmt(perConnectionKb, 1)} | ${f.connected} in ${fmt(f.seconds, 1)} s |`;
}

/** Fresh brokers, ours then Mosquitto's, ROUNDS times: prints a row each and records the medians. */
async function freshIdleRows(dir: string, figures: Figures): Promise<void> {
  const ours: FreshIdle[] = [];
  const theirs: FreshIdle[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    ours.push(await freshIdleConnections(startTagwire, IDLE_CONNECTIONS));
    theirs.push(await freshIdleConnections(() => startMosquitto(dir), IDLE_CONNECTIONS));
  }
  console.log(
    `\n| ${fmt(IDLE_CONNECTIONS)} idle connections, fresh broker | RSS before MB | RSS with them MB | KB per connection | connected |`,
  );
  console.log('|---|---:|---:|---:|---|');
  for (const f of ours) console.log(freshIdleRow('tagwire', f));
  for (const f of theirs) console.log(freshIdleRow('mosquitto', f));
  figures.idleFresh = {
    rssMbBefore: median(ours.map((f) => f.beforeMb)),
    rssMbWithIdleConnections: median(ours.map((f) => f.withConnectionsMb)),
    mosquittoRssMbWithIdleConnections: median(theirs.map((f) => f.withConnectionsMb)),
  };
}

const FLOWS: Flow[] = [
  { name: '1 -> 1, QoS 0', publishers: 1, subscribers: 1, qos: 0, perPublisher: 300_000, window: 2000 },
  { name: '1 -> 1, QoS 1', publishers: 1, subscribers: 1, qos: 1, perPublisher: 150_000, window: 500 },
  { name: '1 -> 1, QoS 2', publishers: 1, subscribers: 1, qos: 2, perPublisher: 80_000, window: 500 },
  {
    name: '1 -> 100 fan-out, QoS 0',
    publishers: 1,
    subscribers: 100,
    qos: 0,
    perPublisher: 3_000,
    window: 20_000,
  },
  {
    name: '100 -> 1 fan-in, QoS 0',
    publishers: 100,
    subscribers: 1,
    qos: 0,
    perPublisher: 3_000,
    window: 2000,
  },
];

function fmt(n: number, digits = 0): string {
  return Number.isFinite(n)
    ? n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits })
    : '-';
}

async function main(): Promise<void> {
  const dir = mkdtempSync(path.join(tmpdir(), 'tagwire-bench-'));
  if (ONLY_IDLE) {
    try {
      const figures: Figures = {};
      await freshIdleRows(dir, figures);
      record('broker-idle', figures);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    return;
  }
  const ours = await startTagwire();
  const theirs = await startMosquitto(dir);
  try {
    await new Promise((r) => setTimeout(r, 1000));
    const idleRss = { tagwire: rssMb(ours.child.pid!), mosquitto: rssMb(theirs.child.pid!) };
    console.log(
      `node ${process.version}, ${ROUNDS} alternating rounds per row, ${PAYLOAD}-byte payloads, MQTT 3.1.1`,
    );
    const rows: string[] = [];
    const figures: Figures = {};
    rows.push(
      '| load | broker | msg/s | CPU s / 1M msg | peak RSS MB | p50 ms | p99 ms | lost | client CPU | msg/s ratio | p99 ratio |',
    );
    rows.push('|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
    for (const flow of FLOWS) {
      const results: Record<'tagwire' | 'mosquitto', Result[]> = { tagwire: [], mosquitto: [] };
      for (let r = 0; r < ROUNDS; r++) {
        const order = r % 2 === 0 ? [ours, theirs] : [theirs, ours];
        for (const b of order) results[b.name].push(await runFlow(b, flow));
      }
      const summary = (name: 'tagwire' | 'mosquitto') => {
        const rs = results[name];
        return {
          msgsPerSec: median(rs.map((x) => x.msgsPerSec)),
          cpu: median(rs.map((x) => x.cpuPerMillion)),
          rss: Math.max(...rs.map((x) => x.peakRssMb)),
          p50: median(rs.map((x) => x.p50)),
          p99: median(rs.map((x) => x.p99)),
          lost: rs.reduce((a, x) => a + x.lost, 0),
          load: median(rs.map((x) => x.loadCpuShare)),
        };
      };
      const t = summary('tagwire');
      const m = summary('mosquitto');
      const line = (name: string, s: typeof t, ratio: string, p99ratio: string) =>
        `| ${flow.name} | ${name} | ${fmt(s.msgsPerSec)} | ${fmt(s.cpu, 2)} | ${fmt(s.rss, 1)} | ${fmt(s.p50, 2)} | ${fmt(s.p99, 2)} | ${s.lost} | ${fmt(s.load, 2)} | ${ratio} | ${p99ratio} |`;
      figures[flow.name] = {
        msgsPerSec: t.msgsPerSec,
        p99Ms: t.p99,
        rssMb: t.rss,
        ratio: t.msgsPerSec / m.msgsPerSec,
      };
      rows.push(line('tagwire', t, fmt(t.msgsPerSec / m.msgsPerSec, 2), fmt(t.p99 / m.p99, 2)));
      rows.push(line('mosquitto', m, '', ''));
      console.log(rows.at(-2));
      console.log(rows.at(-1));
    }
    const idleOurs = await idleConnections(ours, IDLE_CONNECTIONS);
    const idleTheirs = await idleConnections(theirs, IDLE_CONNECTIONS);
    console.log('\n' + rows.join('\n'));
    figures.idle = {
      rssMb: idleRss.tagwire,
      rssMbWithIdleConnections: idleOurs.rssMb,
      mosquittoRssMb: idleTheirs.rssMb,
    };
    await freshIdleRows(dir, figures);
    record('broker', figures);
    console.log('\n| memory | tagwire | mosquitto |');
    console.log('|---|---:|---:|');
    console.log(
      `| idle RSS, broker alone (MB) | ${fmt(idleRss.tagwire, 1)} | ${fmt(idleRss.mosquitto, 1)} |`,
    );
    console.log(
      `| RSS with ${fmt(IDLE_CONNECTIONS)} idle connections, after the flows (MB) | ${fmt(idleOurs.rssMb, 1)} (${idleOurs.connected} connected in ${fmt(idleOurs.seconds, 1)} s) | ${fmt(idleTheirs.rssMb, 1)} (${idleTheirs.connected} connected in ${fmt(idleTheirs.seconds, 1)} s) |`,
    );
  } finally {
    await ours.stop();
    await theirs.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
