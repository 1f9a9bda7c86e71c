// bench:connect-storm: 2,000 MQTT.js clients connecting at once to a real gateway process
// (`node dist/src/cli.js start`, no devices, no simulators) and to Debian's Mosquitto, each in its
// own fresh process per phase, same clients, same run:
//   clean      anonymous, clean sessions;
//   login+#    username/password, then SUBSCRIBE `#` over RETAINED retained values (each client
//              receives all of them at once);
//   persistent v5, clean start false, session expiry 1 h, one subscription (sessions kept in SQLite).
// Peak RSS is the kernel's own high-water mark (VmHWM, reset just before the storm through
// /proc/<pid>/clear_refs) and, as a cross-check, the largest VmRSS sampled every 20 ms. Every client
// is counted by its first outcome: accepted, refused (per reason code) or no answer. Clients use
// MQTT.js defaults otherwise: a refused CONNECT is not retried (reconnectOnConnackError false).
// CLIENTS, RETAINED, ADDRESSES (source addresses 127.0.0.2.. via localAddress; default 1, one NAT)
// PHASES and BROKERS (comma-separated) override the defaults; GATEWAY_NODE_ARGS adds Node flags to
// the gateway (e.g. --trace-gc); GATEWAY=demo runs the demo config (devices and simulators) instead,
// where `#` subscribers also get the demo's own values ("got all" then counts any RETAINED messages).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { hashPassword } from '../src/broker/auth/password.js';
import { demoConfig, repoRoot } from '../test/helpers/demo-config.js';
import { freePort, waitForPort } from '../test/helpers/net.js';
import { buildIfStale } from './bundle.js';
import { record, type Figures } from './results.js';

const CLIENTS = Number(process.env.CLIENTS ?? 2000);
const RETAINED = Number(process.env.RETAINED ?? 300);
const ADDRESSES = Number(process.env.ADDRESSES ?? 1);
const PHASE_TIMEOUT_MS = 90_000;
const USER = 'sensor';
const PASSWORD = 'storm-password-1';

type Phase = 'clean' | 'login+#' | 'persistent';
const PHASES = (process.env.PHASES?.split(',') ?? ['clean', 'login+#', 'persistent']) as Phase[];

interface Broker {
  name: 'tagwire' | 'mosquitto';
  port: number;
  pid: number;
  stop(): Promise<void>;
}

function status(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const text = readFileSync(`/proc/${pid}/status`, 'utf8');
  const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(text);
  return match ? Number(match[1]) / 1024 : 0;
}

function stopper(child: ChildProcess): () => Promise<void> {
  return () =>
    new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      const kill = setTimeout(() => child.kill('SIGKILL'), 10_000);
      child.once('exit', () => (clearTimeout(kill), resolve()));
      child.kill('SIGTERM');
    });
}

/** The gateway without devices or simulators: the broker's own cost in the whole process. */
async function bareGateway(passwordHash: string): Promise<{ file: string; dir: string; port: number }> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tagwire-storm-'));
  const port = await freePort();
  const config = {
    gateway: { id: 'storm', dataDir: path.join(dir, 'data'), logLevel: 'info' },
    broker: {
      listeners: [{ protocol: 'mqtt', host: '127.0.0.1', port }],
      allowAnonymous: true,
      users: [{ username: USER, passwordHash }],
    },
    devices: [],
    mappings: [],
    bridges: [],
  };
  const file = path.join(dir, 'gateway.config.json');
  writeFileSync(file, JSON.stringify(config, null, 2));
  return { file, dir, port };
}

/** The demo (devices, mappings, both simulators in the process) on free ports, plus the bench's user. */
async function demoGateway(passwordHash: string): Promise<{ file: string; dir: string; port: number }> {
  const demo = await demoConfig((config) => {
    (config.broker as Record<string, unknown>).users = [{ username: USER, passwordHash }];
  });
  return { file: demo.file, dir: demo.dir, port: demo.mqttPort };
}

async function startTagwire(passwordHash: string): Promise<Broker> {
  const { file, dir, port } =
    process.env.GATEWAY === 'demo' ? await demoGateway(passwordHash) : await bareGateway(passwordHash);
  const args = [...(process.env.GATEWAY_NODE_ARGS?.split(' ').filter(Boolean) ?? [])];
  const child = spawn('node', [...args, path.join(repoRoot, 'dist/src/cli.js'), 'start', '-c', file], {
    cwd: dir,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const lines = { count: 0 };
  child.stdout.on('data', (c: Buffer) => {
    out = (out + c.toString()).slice(-4000);
    for (const byte of c) if (byte === 10) lines.count++;
  });
  child.stderr.on('data', (c: Buffer) => (out = (out + c.toString()).slice(-4000)));
  const deadline = Date.now() + 60_000;
  while (!/running \(started in \d+ ms\)/.test(out)) {
    if (child.exitCode !== null) throw new Error(`gateway exited:\n${out}`);
    if (Date.now() > deadline) throw new Error(`gateway not ready:\n${out}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  await waitForPort(port);
  logLines = lines;
  return { name: 'tagwire', port, pid: child.pid!, stop: stopper(child) };
}

/** Log lines the gateway wrote (stdout) since it started: the per-connection logging cost. */
let logLines: { count: number } = { count: 0 };

async function startMosquitto(): Promise<Broker> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tagwire-storm-mosq-'));
  const port = await freePort();
  const passwords = path.join(dir, 'passwd');
  writeFileSync(passwords, '');
  const made = spawnSync('mosquitto_passwd', ['-b', passwords, USER, PASSWORD]);
  if (made.status !== 0) throw new Error(`mosquitto_passwd: ${made.stderr.toString()}`);
  // Mosquitto started as root drops to its own user, which must still read the password file.
  chmodSync(dir, 0o755);
  chmodSync(passwords, 0o644);
  const conf = path.join(dir, 'mosquitto.conf');
  // Anonymous and password clients on one listener, like the gateway's config; sessions in memory
  // (Mosquitto writes them to disk only at its autosave interval or exit).
  writeFileSync(
    conf,
    `listener ${port} 127.0.0.1\nallow_anonymous true\npassword_file ${passwords}\npersistence false\nmax_connections -1\n`,
  );
  // Its log goes nowhere: an unread pipe would fill (a line per connect) and stall it.
  const child = spawn('mosquitto', ['-c', conf], { stdio: 'ignore' });
  await waitForPort(port);
  return { name: 'mosquitto', port, pid: child.pid!, stop: stopper(child) };
}

interface Outcome {
  accepted: number;
  refused: Map<string, number>;
  /** Transport errors and connect timeouts MQTT.js retried on its own (by error). */
  retried: Map<string, number>;
  noAnswer: number;
  /** Clients that got every retained message (login+# only). */
  complete: number;
  allInMs: number;
}

async function publishRetained(port: number): Promise<void> {
  const client = mqtt.connect({
    host: '127.0.0.1',
    port,
    username: USER,
    password: PASSWORD,
    clientId: 'storm-seed',
  });
  await new Promise<void>((resolve, reject) => {
    client.once('connect', () => resolve());
    client.once('error', reject);
  });
  for (let i = 0; i < RETAINED; i++) {
    const payload = JSON.stringify({ v: i * 1.5, ts: Date.now(), q: 'good' });
    await client.publishAsync(`plant/line${i % 10}/tag${i}`, payload, { qos: 1, retain: true });
  }
  await client.endAsync();
}

function storm(broker: Broker, phase: Phase): Promise<Outcome> {
  const outcome: Outcome = {
    accepted: 0,
    refused: new Map(),
    retried: new Map(),
    noAnswer: 0,
    complete: 0,
    allInMs: 0,
  };
  const clients: MqttClient[] = [];
  const started = performance.now();
  let settled = 0;
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      outcome.allInMs = performance.now() - started;
      outcome.noAnswer =
        CLIENTS - outcome.accepted - [...outcome.refused.values()].reduce((a, b) => a + b, 0);
      void Promise.all(clients.map((c) => c.endAsync(true).catch(() => undefined))).then(() =>
        resolve(outcome),
      );
    };
    const timer = setTimeout(done, PHASE_TIMEOUT_MS);
    const settle = (): void => {
      if (++settled === CLIENTS) done();
    };
    for (let i = 0; i < CLIENTS; i++) {
      const options: IClientOptions = {
        host: '127.0.0.1',
        port: broker.port,
        clientId: `storm-${phase.replace(/\W/g, '')}-${i}`,
        ...(ADDRESSES > 1 ? { localAddress: `127.0.0.${2 + (i % ADDRESSES)}` } : {}),
        ...(phase === 'login+#' ? { username: USER, password: PASSWORD } : {}),
        ...(phase === 'persistent'
          ? { protocolVersion: 5, clean: false, properties: { sessionExpiryInterval: 3600 } }
          : {}),
      };
      const client = mqtt.connect(options);
      clients.push(client);
      let first = true;
      let received = 0;
      client.on('connect', () => {
        if (!first) return;
        first = false;
        outcome.accepted++;
        if (phase === 'clean') return settle();
        const filter = phase === 'login+#' ? '#' : `sensors/${i}/cmd`;
        client.subscribe(filter, { qos: phase === 'persistent' ? 1 : 0 }, (err) => {
          if (err) return settle();
          if (phase === 'persistent') settle();
        });
      });
      client.on('message', () => {
        if (++received === RETAINED) {
          outcome.complete++;
          settle();
        }
      });
      client.on('error', (err: Error & { code?: number | string }) => {
        if (!first) return;
        // A CONNACK refusal is final (MQTT.js does not reconnect after one); a transport error or
        // a connect timeout is not: MQTT.js reconnects a second later, so only count it.
        if (typeof err.code !== 'number') {
          const key = String(err.code ?? err.message);
          outcome.retried.set(key, (outcome.retried.get(key) ?? 0) + 1);
          return;
        }
        first = false;
        outcome.refused.set(String(err.code), (outcome.refused.get(String(err.code)) ?? 0) + 1);
        settle();
      });
    }
  });
}

interface Row {
  broker: string;
  phase: Phase;
  beforeMb: number;
  peakMb: number;
  sampledPeakMb: number;
  outcome: Outcome;
  logLines?: number;
}

async function runPhase(broker: Broker, phase: Phase): Promise<Row> {
  if (phase === 'login+#') await publishRetained(broker.port);
  await new Promise((r) => setTimeout(r, 500));
  const beforeMb = status(broker.pid, 'VmRSS');
  writeFileSync(`/proc/${broker.pid}/clear_refs`, '5'); // resets VmHWM to the current RSS
  let sampledPeakMb = beforeMb;
  const sampler = setInterval(() => {
    sampledPeakMb = Math.max(sampledPeakMb, status(broker.pid, 'VmRSS'));
  }, 20);
  const linesBefore = logLines.count;
  const outcome = await storm(broker, phase);
  clearInterval(sampler);
  const peakMb = status(broker.pid, 'VmHWM');
  return {
    broker: broker.name,
    phase,
    beforeMb,
    peakMb,
    sampledPeakMb,
    outcome,
    ...(broker.name === 'tagwire' ? { logLines: logLines.count - linesBefore } : {}),
  };
}

function describe(row: Row): string {
  const o = row.outcome;
  const refused = [...o.refused].map(([code, n]) => `${n} refused (${code})`).join(', ');
  return (
    `${row.broker.padEnd(9)} ${row.phase.padEnd(10)} RSS ${row.beforeMb.toFixed(0)} -> peak ${row.peakMb.toFixed(0)} MB ` +
    `(sampled ${row.sampledPeakMb.toFixed(0)}), ${o.accepted} accepted` +
    (refused ? `, ${refused}` : '') +
    (o.retried.size ? `, retried after ${[...o.retried].map(([e, n]) => `${n} ${e}`).join(', ')}` : '') +
    (o.noAnswer ? `, ${o.noAnswer} no answer` : '') +
    (row.phase === 'login+#' ? `, ${o.complete} got all ${RETAINED} retained` : '') +
    ` in ${(o.allInMs / 1000).toFixed(1)} s` +
    (row.logLines !== undefined ? `, ${row.logLines} log lines` : '')
  );
}

async function main(): Promise<void> {
  buildIfStale();
  const load = (): string =>
    os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(' ');
  console.log(
    `bench:connect-storm: ${CLIENTS} MQTT.js clients at once from ${ADDRESSES} address(es), ${RETAINED} retained, ` +
      `Node ${process.version}, ${os.cpus().length} cores, load ${load()}`,
  );
  const passwordHash = await hashPassword(PASSWORD);
  const rows: Row[] = [];
  for (const phase of PHASES) {
    const starts = [() => startTagwire(passwordHash), startMosquitto].filter(
      (_, i) => !process.env.BROKERS || process.env.BROKERS.split(',').includes(['tagwire', 'mosquitto'][i]!),
    );
    for (const start of starts) {
      const broker = await start();
      try {
        const row = await runPhase(broker, phase);
        rows.push(row);
        console.log(describe(row));
      } finally {
        await broker.stop();
      }
    }
    const ours = rows.find((r) => r.phase === phase && r.broker === 'tagwire');
    const theirs = rows.find((r) => r.phase === phase && r.broker === 'mosquitto');
    if (ours && theirs)
      console.log(
        `  ${phase}: peak ratio tagwire/mosquitto ${(ours.peakMb / theirs.peakMb).toFixed(1)}x, ` +
          `growth ${(ours.peakMb - ours.beforeMb).toFixed(0)} vs ${(theirs.peakMb - theirs.beforeMb).toFixed(0)} MB, ` +
          `time ${(ours.outcome.allInMs / theirs.outcome.allInMs).toFixed(2)}x`,
      );
  }
  const figures: Figures = {};
  for (const row of rows) {
    const o = row.outcome;
    const phase = (figures[row.phase] ??= {}) as Figures;
    phase[row.broker] = {
      rssBeforeMb: row.beforeMb,
      peakMb: row.peakMb,
      accepted: o.accepted,
      refused: [...o.refused.values()].reduce((a, b) => a + b, 0),
      noAnswer: o.noAnswer,
      seconds: o.allInMs / 1000,
    };
  }
  record('connect-storm', figures);
  console.log(`load after: ${load()}`);
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
