// Running the shell examples of one Markdown file as a reader would, in order, in a sandbox: a copy
// of the demo's gateway.config.json and mappings where the demo's fixed ports (1883, 1884, 5020,
// 4840, 8083, 8080) are free ports instead, the same ports rewritten in every command, and `npm`,
// `npx` and Mosquitto's clients shimmed so that `npm start`, `npx tagwire ...` and
// `mosquitto_sub -t ...` reach this sandbox's gateway. What a block leaves running (the demo, a
// Mosquitto started with `&`) keeps running for the blocks after it, and is stopped by pid at the end.
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort, sleep } from '../helpers/net.js';

/** The fixed ports the docs use, with what listens there in the demo. */
const DOC_PORTS = [1883, 1884, 5020, 4840, 8083, 8080] as const;

export interface BlockRun {
  ok: boolean;
  why?: string;
  stdout: string;
  stderr: string;
}

interface Running {
  child: ChildProcess;
  exited: Promise<number | null>;
}

export class DocSession {
  readonly dir: string;
  private readonly ports = new Map<number, number>();
  private readonly running: Running[] = [];
  private demoStarted = false;

  private constructor(private readonly repo: string) {
    this.dir = mkdtempSync(path.join(tmpdir(), 'tagwire-docs-'));
  }

  static async open(repo: string): Promise<DocSession> {
    const session = new DocSession(repo);
    for (const port of DOC_PORTS) session.ports.set(port, await freePort());
    session.writeSandbox();
    return session;
  }

  /** Text with every doc port replaced by this sandbox's port. */
  rewrite(text: string): string {
    return text.replace(/\b(1883|1884|5020|4840|8083|8080)\b/g, (p) => String(this.ports.get(Number(p))));
  }

  private writeSandbox(): void {
    const config = JSON.parse(
      this.rewrite(readFileSync(path.join(this.repo, 'gateway.config.json'), 'utf8')),
    ) as {
      gateway: { dataDir: string };
    };
    config.gateway.dataDir = './data';
    writeFileSync(path.join(this.dir, 'gateway.config.json'), JSON.stringify(config, null, 2));
    cpSync(path.join(this.repo, 'mappings'), path.join(this.dir, 'mappings'), { recursive: true });
    const bin = path.join(this.dir, '.bin');
    mkdirSync(bin);
    const tsx = path.join(this.repo, 'node_modules/.bin/tsx');
    const cli = path.join(this.repo, 'src/cli.ts');
    const mqtt = this.ports.get(1883);
    const shims: Record<string, string> = {
      // `npm install` is done (the test runs from an installed checkout); `npm start` runs the CLI
      // from source on ./gateway.config.json; anything else is not for a docs test to run.
      npm: `case "$1" in
  install|ci) exit 0 ;;
  start) shift; [ "$1" = "--" ] && shift; exec ${tsx} ${cli} start "$@" ;;
  *) echo "docs test: npm $1 is not run here: mark the block <!-- not-tested: reason -->" >&2; exit 97 ;;
esac`,
      npx: `if [ "$1" = tagwire ]; then shift; exec ${tsx} ${cli} "$@"; fi
echo "docs test: npx $1 is not run here" >&2; exit 97`,
      tagwire: `exec ${tsx} ${cli} "$@"`,
      // The sandbox's broker unless the command names a port (Mosquitto's clients take the last -p).
      mosquitto_sub: `exec /usr/bin/mosquitto_sub -p ${mqtt} "$@"`,
      mosquitto_pub: `exec /usr/bin/mosquitto_pub -p ${mqtt} "$@"`,
    };
    for (const [name, body] of Object.entries(shims)) {
      writeFileSync(path.join(bin, name), `#!/usr/bin/env bash\n${body}\n`);
      chmodSync(path.join(bin, name), 0o755);
    }
  }

  /** Merges a JSON fragment into a sandbox file, as a reader adds a block to their config. */
  apply(file: string, fragment: Record<string, unknown>): void {
    const target = path.join(this.dir, file);
    const current = JSON.parse(readFileSync(target, 'utf8')) as Record<string, unknown>;
    const next = { ...current, ...(JSON.parse(this.rewrite(JSON.stringify(fragment))) as object) };
    writeFileSync(target, JSON.stringify(next, null, 2));
  }

  /**
   * Runs one block with bash (`set -e`). It passes when it exits 0, or when it is still running at
   * its settle point (long-running commands: the gateway once its banner is out, a subscriber once
   * it printed something) with nothing on stderr that says it failed.
   */
  async run(text: string, opts: { settleMs?: number } = {}): Promise<BlockRun> {
    // A transcript (`$ command` lines between output lines) runs its prompted lines only.
    const lines = this.rewrite(text).split('\n');
    const prompted = lines.some((l) => l.startsWith('$ '));
    const script = (prompted ? lines.filter((l) => l.startsWith('$ ')).map((l) => l.slice(2)) : lines).join(
      '\n',
    );
    const starts = /(^|\s)(npm start|tagwire start|npx tagwire start)\b/.test(script);
    if (starts) this.demoStarted = true;
    const child = spawn('bash', ['-e', '-c', script], {
      cwd: this.dir,
      env: {
        ...process.env,
        PATH: `${path.join(this.dir, '.bin')}:${process.env.PATH ?? ''}`,
        // The HTTP examples' `$GW`.
        GW: `http://127.0.0.1:${this.ports.get(8080)}`,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    this.running.push({ child, exited });
    const subscribes = /mosquitto_sub/.test(script);
    const settleMs = opts.settleMs ?? (starts ? 120_000 : 20_000);
    const deadline = Date.now() + settleMs;
    let code: number | null | undefined;
    void exited.then((c) => (code = c));
    while (code === undefined && Date.now() < deadline) {
      if (starts && stdout.includes('Ctrl-C')) break;
      if (!starts && subscribes && stdout.trim() !== '') break;
      await sleep(50);
    }
    // Let a last line (an exit, an error) arrive.
    await Promise.race([exited, sleep(200)]);
    if (code !== undefined && code !== 0) return { ok: false, why: `exit code ${code}`, stdout, stderr };
    if (code === undefined) {
      if (starts && !stdout.includes('Ctrl-C'))
        return { ok: false, why: 'the gateway printed no banner', stdout, stderr };
      if (subscribes && stdout.trim() === '')
        return { ok: false, why: 'the subscriber received nothing', stdout, stderr };
      if (/error|refused|not found|no such|unknown/i.test(stderr))
        return { ok: false, why: 'still running, but its stderr says something failed', stdout, stderr };
    }
    return { ok: true, stdout, stderr };
  }

  /** Starts the demo (`npm start`) for a block that needs it, unless it runs already. */
  async ensureDemo(): Promise<BlockRun | undefined> {
    if (this.demoStarted) return undefined;
    return this.run('npm start');
  }

  /** Stops everything the blocks started: SIGINT to each block's process group, then SIGKILL. */
  async close(): Promise<void> {
    for (const { child } of this.running) signal(child, 'SIGINT');
    const deadline = sleep(15_000).then(() => 'late' as const);
    for (const { child, exited } of this.running) {
      if ((await Promise.race([exited, deadline])) === 'late') signal(child, 'SIGKILL');
    }
    // Processes left in a group after its shell exited (`mosquitto &`): the group signal reaches them.
    for (const { child } of this.running) signal(child, 'SIGKILL');
    rmSync(this.dir, { recursive: true, force: true });
  }
}

function signal(child: ChildProcess, sig: NodeJS.Signals): void {
  try {
    process.kill(-child.pid!, sig);
  } catch {
    // the group is gone
  }
}
