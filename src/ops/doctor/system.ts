// Doctor checks of the machine: Node, the clock, the data folder and its disk, the listen ports.
import { statSync } from 'node:fs';
import { mkdir, readFile, readdir, readlink, rm, statfs, writeFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { GatewayConfig } from '../../config/types.js';
import { fail, ok, warn, type Finding } from './check.js';

/** Node lines tagwire runs on; 20 works but is past its end of life. */
export function checkNode(version = process.versions.node): Finding {
  const [major = 0, minor = 0] = version.split('.').map(Number);
  const subject = 'node';
  if (major < 20 || (major === 20 && minor < 19))
    return fail(
      subject,
      `Node ${version} is too old (tagwire needs 20.19 or later)`,
      'use the offline bundle (its own Node 22) or install Node 22 or 24',
    );
  if (major === 20)
    return warn(
      subject,
      `Node ${version} works but is past its end of life`,
      'move to Node 22 or 24 (or the offline bundle)',
    );
  return ok(subject, `Node ${version}`);
}

/** The clock must not be before this release was built, nor absurdly far ahead. */
export function checkClock(now = Date.now()): Finding {
  const subject = 'clock';
  const built = statSync(fileURLToPath(import.meta.url)).mtimeMs;
  const fix =
    'set the time (timedatectl set-ntp true, or timedatectl set-time) so values carry true timestamps';
  if (now < built - 24 * 3600_000)
    return fail(
      subject,
      `${new Date(now).toISOString()} is before this tagwire was built (${new Date(built).toISOString().slice(0, 10)})`,
      fix,
    );
  if (new Date(now).getUTCFullYear() > 2100)
    return fail(subject, `${new Date(now).toISOString()} is implausible`, fix);
  return ok(subject, new Date(now).toISOString());
}

const MB = 1024 * 1024;

/** The data folder exists (or can be made) and is writable; its disk holds the outbox bounds. */
export async function checkDataFolder(config: GatewayConfig): Promise<Finding[]> {
  const dir = config.gateway.dataDir;
  const subject = `data ${dir}`;
  try {
    await mkdir(dir, { recursive: true });
    const probe = path.join(dir, `.doctor-${process.pid}`);
    await writeFile(probe, 'probe');
    await rm(probe);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
    return [
      fail(
        subject,
        `not writable by this user (${code})`,
        `give the user running tagwire the folder (sudo chown -R tagwire: ${dir}), or run doctor as that user`,
      ),
    ];
  }
  const fs = await statfs(dir);
  const free = fs.bavail * fs.bsize;
  const outboxBytes = config.bridges.reduce((sum, b) => sum + b.outbox.maxBytes, 0);
  const freeText = `${Math.floor(free / MB)} MB free`;
  if (free < 100 * MB)
    return [
      fail(
        subject,
        `writable, only ${freeText}`,
        'free disk space: the stores stop taking writes when the disk is full',
      ),
    ];
  if (free < outboxBytes)
    return [
      warn(
        subject,
        `writable, ${freeText}, less than the bridges' outbox bounds (${Math.floor(outboxBytes / MB)} MB)`,
        'lower bridges[].outbox.maxBytes or free disk space, or a long WAN outage fills the disk',
      ),
    ];
  return [
    ok(
      subject,
      `writable, ${freeText}${outboxBytes ? `, outbox bounds ${Math.floor(outboxBytes / MB)} MB` : ''}`,
    ),
  ];
}

interface Listen {
  subject: string;
  host: string;
  port: number;
  pointer: string;
}

function listens(config: GatewayConfig): Listen[] {
  const out: Listen[] = config.broker.listeners.map((l, i) => ({
    subject: `port ${l.port} (${l.protocol})`,
    host: l.host,
    port: l.port,
    pointer: `/broker/listeners/${i}/port`,
  }));
  out.push({
    subject: `port ${config.http.port} (http)`,
    host: config.http.host,
    port: config.http.port,
    pointer: '/http/port',
  });
  return out.filter((l) => l.port !== 0);
}

function tryBind(host: string, port: number): Promise<NodeJS.ErrnoException | undefined> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', (err: NodeJS.ErrnoException) => resolve(err));
    server.listen({ host, port, exclusive: true }, () => server.close(() => resolve(undefined)));
  });
}

/** Socket inodes listening on `port`, from /proc/net/tcp and tcp6. */
async function listeningInodes(port: number): Promise<Set<string>> {
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  const inodes = new Set<string>();
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    const text = await readFile(file, 'utf8').catch(() => '');
    for (const line of text.split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      if (cols.length > 9 && cols[1]!.endsWith(`:${hexPort}`) && cols[3] === '0A') inodes.add(cols[9]!);
    }
  }
  return inodes;
}

/** The pid and command line of the process holding one of `inodes`, where /proc lets us see it. */
async function ownerOf(inodes: Set<string>): Promise<{ pid: number; argv: string[] } | undefined> {
  if (inodes.size === 0) return undefined;
  for (const pid of await readdir('/proc').catch(() => [] as string[])) {
    if (!/^\d+$/.test(pid)) continue;
    const fds = await readdir(`/proc/${pid}/fd`).catch(() => [] as string[]);
    for (const fd of fds) {
      const target = await readlink(`/proc/${pid}/fd/${fd}`).catch(() => '');
      const inode = /^socket:\[(\d+)\]$/.exec(target)?.[1];
      if (inode && inodes.has(inode)) {
        const argv = (await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '')).split('\0');
        return { pid: Number(pid), argv };
      }
    }
  }
  return undefined;
}

/** A running gateway: `... cli.js|cli.ts|tagwire start ...`. */
function isGateway(argv: readonly string[]): boolean {
  const start = argv.indexOf('start');
  return start > 0 && argv.slice(0, start).some((a) => /(^|\/)(cli\.[jt]s|tagwire(\.js)?)$/.test(a));
}

/** Each listen port is free, or held by a running tagwire (ours). */
export async function checkPorts(config: GatewayConfig): Promise<Finding[]> {
  const findings: Finding[] = [];
  for (const l of listens(config)) {
    const err = await tryBind(l.host, l.port);
    if (!err) {
      findings.push(ok(l.subject, `free on ${l.host}`));
      continue;
    }
    if (err.code === 'EACCES')
      findings.push(
        fail(
          l.subject,
          `binding a port below 1024 needs a privilege`,
          `run as the service (it gets CAP_NET_BIND_SERVICE) or pick a port of 1024 or more at ${l.pointer}`,
        ),
      );
    else if (err.code === 'EADDRNOTAVAIL')
      findings.push(
        fail(
          l.subject,
          `${l.host} is not an address of this machine`,
          `use one of its addresses, or 0.0.0.0, at ${l.pointer.replace(/port$/, 'host')}`,
        ),
      );
    else if (err.code === 'EADDRINUSE') {
      const owner = await ownerOf(await listeningInodes(l.port));
      if (owner && isGateway(owner.argv))
        findings.push(ok(l.subject, `in use by tagwire (pid ${owner.pid})`));
      else
        findings.push(
          fail(
            l.subject,
            `in use by ${owner ? `another program (pid ${owner.pid}: ${owner.argv.filter(Boolean).slice(0, 3).join(' ')})` : 'another program'}`,
            `stop it, or choose another port at ${l.pointer}`,
          ),
        );
    } else findings.push(fail(l.subject, `cannot listen: ${err.message}`, `check ${l.pointer}`));
  }
  return findings;
}
