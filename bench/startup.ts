// bench:startup: how long a user waits. Each figure is the median of ROUNDS fresh processes on the
// demo config moved to free ports and a fresh data directory (no retained values to cheat with):
//   1. `npm start` on an installed, built checkout until mosquitto_sub prints the first value
//      (target < 3 s);
//   2. `npm start` on a config with a typo until it exits with the problem line (target < 1 s);
//   3. gateway start to ready (the banner) without simulators (target < 0.5 s) and with the demo's
//      simulators (target < 2 s), plain `node dist/src/cli.js start`;
//   4. where the demo's time goes: node-opcua's import and the OPC UA simulator's start alone.
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { demoConfig, repoRoot } from '../test/helpers/demo-config.js';
import { buildIfStale } from './bundle.js';
import { record, type Figures } from './results.js';
import { median } from './stats.js';

/** Median milliseconds of each measured step, by its description. */
const figures: Figures = {};

const ROUNDS = Number(process.env.ROUNDS ?? 5);
const TIMEOUT_MS = 60_000;

interface Timed {
  ms: number;
  /** CPU time (user + system) the process had used at that moment: what a quiet machine's wait would be near. */
  cpuMs?: number;
  /** CPU time of the main thread alone (the OPC UA simulator works in a thread of its own). */
  mainCpuMs?: number;
  /** Extra figure the process printed (the banner's own "started in" time). */
  reported?: number;
}

/** Spawns `command`, resolves with the time until `done(stdout, stderr)` holds; kills the process group after. */
function timeUntil(
  command: string,
  args: string[],
  done: (out: string, err: string) => boolean,
  onStart?: (started: number) => Promise<number>,
): Promise<Timed> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(command, args, { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let out = '';
    let err = '';
    let finished = false;
    const finish = (result: Timed | Error): void => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      // npm runs the gateway as a child: signal the whole group, then wait until every process of
      // it is gone (npm exits first), so a round never shares the cores with the last one's stop.
      try {
        process.kill(-child.pid!, 'SIGTERM');
      } catch {
        // already gone
      }
      void groupGone(child.pid!).then(() => (result instanceof Error ? reject(result) : resolve(result)));
    };
    const timer = setTimeout(
      () => finish(new Error(`${command} ${args.join(' ')}: timed out\n${out}${err}`)),
      TIMEOUT_MS,
    );
    const check = (): void => {
      if (!onStart && done(out, err)) {
        const ms = performance.now() - started;
        const reported = /started in (\d+) ms/.exec(out);
        const cpuMs = cpuOf(child.pid!);
        const mainCpuMs = cpuOf(child.pid!, child.pid!);
        finish({
          ms,
          ...(reported ? { reported: Number(reported[1]) } : {}),
          ...(cpuMs !== undefined ? { cpuMs } : {}),
          ...(mainCpuMs !== undefined ? { mainCpuMs } : {}),
        });
      }
    };
    child.stdout.on('data', (c: Buffer) => ((out += c.toString()), check()));
    child.stderr.on('data', (c: Buffer) => ((err += c.toString()), check()));
    child.once('exit', () => {
      check();
      if (!onStart) finish(new Error(`${command} exited early:\n${out}${err}`));
    });
    if (onStart)
      onStart(started).then(
        (ms) => finish({ ms }),
        (e: unknown) => finish(e as Error),
      );
  });
}

/** Resolves once no process of the group is left (SIGKILL after 30 s). */
async function groupGone(pgid: number): Promise<void> {
  const deadline = performance.now() + 30_000;
  for (;;) {
    try {
      process.kill(-pgid, performance.now() < deadline ? 0 : 'SIGKILL');
    } catch {
      return;
    }
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** CPU milliseconds (user + system) a live process (or one of its threads) has used, from /proc (Linux). */
function cpuOf(pid: number, thread?: number): number | undefined {
  try {
    const file = thread === undefined ? `/proc/${pid}/stat` : `/proc/${pid}/task/${thread}/stat`;
    const fields = readFileSync(file, 'utf8').split(') ')[1]!.split(' ');
    // After the command name: field 14 (utime) and 15 (stime) of stat(5) are at 11 and 12 here.
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
  } catch {
    return undefined;
  }
}

/** Runs mosquitto_sub until it connects (the broker may not listen yet); resolves at the first value. */
async function firstValue(port: number, started: number): Promise<number> {
  const deadline = started + TIMEOUT_MS;
  while (performance.now() < deadline) {
    const at = await new Promise<number | undefined>((resolve) => {
      const sub = spawn('mosquitto_sub', ['-h', '127.0.0.1', '-p', String(port), '-t', 'acme/#', '-C', '1'], {
        stdio: ['ignore', 'pipe', 'ignore'],
      });
      let got: number | undefined;
      sub.stdout.once('data', () => (got = performance.now()));
      sub.once('exit', () => resolve(got));
    });
    if (at !== undefined) return at - started;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error('no value on mosquitto_sub');
}

async function rounds(
  what: string,
  run: () => Promise<Timed>,
): Promise<{ what: string; ms: number; reported?: number }> {
  const results: Timed[] = [];
  for (let i = 0; i < ROUNDS; i++) results.push(await run());
  const reported = results.flatMap((r) => (r.reported === undefined ? [] : [r.reported]));
  const cpu = results.flatMap((r) => (r.cpuMs === undefined ? [] : [r.cpuMs]));
  const mainCpu = results.flatMap((r) => (r.mainCpuMs === undefined ? [] : [r.mainCpuMs]));
  const row = {
    what,
    ms: median(results.map((r) => r.ms)),
    ...(reported.length ? { reported: median(reported) } : {}),
  };
  figures[what] = row.ms;
  console.log(
    `${what}: median ${Math.round(row.ms)} ms` +
      (row.reported !== undefined ? ` (banner says ${Math.round(row.reported)} ms)` : '') +
      (cpu.length ? `, CPU used by then ${Math.round(median(cpu))} ms` : '') +
      (mainCpu.length ? ` (main thread ${Math.round(median(mainCpu))} ms)` : '') +
      ` [${results.map((r) => Math.round(r.ms)).join(', ')}]`,
  );
  return row;
}

async function main(): Promise<void> {
  // An installed checkout: built once (what `npm install` does), then never again while unchanged.
  buildIfStale();
  console.log(
    `bench:startup: ${ROUNDS} rounds each, Node ${process.version}, ${os.cpus().length} cores, load ${os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  );
  const cli = path.join(repoRoot, 'dist/src/cli.js');
  const banner = (out: string): boolean => /running \(started in \d+ ms\)/.test(out);

  await rounds('npm start -> first value on mosquitto_sub', async () => {
    const demo = await demoConfig();
    return timeUntil(
      'npm',
      ['start', '--silent', '--', '-c', demo.file],
      () => false,
      (started) => firstValue(demo.mqttPort, started),
    );
  });
  await rounds('npm start -> config typo reported', async () => {
    const demo = await demoConfig((config) => {
      (config.gateway as Record<string, unknown>).logLevle = 'info';
    });
    return timeUntil('npm', ['start', '--silent', '--', '-c', demo.file], (_, err) => /logLevle/.test(err));
  });
  await rounds('gateway start to ready, no simulators', async () => {
    const demo = await demoConfig();
    return timeUntil('node', [cli, 'start', '--no-simulators', '-c', demo.file], banner);
  });
  await rounds('gateway start to ready, the demo (simulators)', async () => {
    const demo = await demoConfig();
    return timeUntil('node', [cli, 'start', '-c', demo.file], banner);
  });

  // Where the demo's time goes: measured in a fresh process each, as the gateway pays it.
  const probe = path.join(os.tmpdir(), `tagwire-startup-probe-${process.pid}.mjs`);
  writeFileSync(
    probe,
    `const t0 = performance.now();
const { loadOpcua } = await import(${JSON.stringify(path.join(repoRoot, 'dist/drivers/opcua/load.js'))});
await loadOpcua();
const t1 = performance.now();
const { startOpcuaSimulator } = await import(${JSON.stringify(path.join(repoRoot, 'dist/drivers/opcua/simulator/index.js'))});
const { withSimulatorDefaults } = await import(${JSON.stringify(path.join(repoRoot, 'dist/drivers/opcua/defaults.js'))});
const { silentLogger } = await import(${JSON.stringify(path.join(repoRoot, 'dist/src/log.js'))});
const sim = await startOpcuaSimulator(withSimulatorDefaults({ port: 0 }), silentLogger());
const t2 = performance.now();
console.log(JSON.stringify({ importMs: t1 - t0, simulatorMs: t2 - t1 }));
await sim.close();
`,
  );
  const parts: Array<{ importMs: number; simulatorMs: number }> = [];
  for (let i = 0; i < ROUNDS; i++) {
    const run = spawnSync('node', [probe], { encoding: 'utf8' });
    const line = run.stdout.trim().split('\n').pop() ?? '';
    parts.push(JSON.parse(line) as { importMs: number; simulatorMs: number });
  }
  console.log(
    `node-opcua import: median ${Math.round(median(parts.map((p) => p.importMs)))} ms; ` +
      `OPC UA simulator start after it: median ${Math.round(median(parts.map((p) => p.simulatorMs)))} ms`,
  );
  figures['node-opcua import'] = median(parts.map((p) => p.importMs));
  figures['OPC UA simulator start'] = median(parts.map((p) => p.simulatorMs));
  record('startup', figures);
  console.log(
    `load after: ${os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  );
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
