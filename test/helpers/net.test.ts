// The port allocator: processes using freePort() at the same time (vitest workers of one run, or of
// two runs in two clones) are never handed the same port, and a port already taken is skipped.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { claimPortSlice, PortAllocator, SLICE_COUNT, SLICE_SIZE, SLICES_FROM, waitFor } from './net.js';

const childScript = fileURLToPath(new URL('./ports-child.ts', import.meta.url));
const children: ChildProcess[] = [];

afterEach(() => {
  for (const c of children.splice(0)) c.kill('SIGKILL');
});

/**
 * A separate process in the part of vitest worker `poolId` that took `count` ports through
 * freePort() and still holds its slice (until its stdin closes or it is killed).
 */
async function worker(poolId: number, count: number): Promise<{ child: ChildProcess; ports: number[] }> {
  const child = spawn(process.execPath, ['--import', 'tsx', childScript, String(count)], {
    env: { ...process.env, VITEST_POOL_ID: String(poolId) },
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  children.push(child);
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  const line = await waitFor(() => (out.includes('\n') ? out : child.exitCode !== null), 30_000, 'its ports');
  if (typeof line !== 'string') throw new Error(`the port child exited with ${child.exitCode}`);
  return { child, ports: JSON.parse(line) as number[] };
}

/** The lock port of the slice a handed-out port belongs to. */
const lockOf = (port: number) => SLICES_FROM + Math.floor((port - SLICES_FROM) / SLICE_SIZE) * SLICE_SIZE;

function listen(port: number): Promise<net.Server> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve(server));
  });
}

describe('freePort across processes', () => {
  it('gives two processes of the same worker id (two runs at once) disjoint ports, none twice', async () => {
    const [one, two] = await Promise.all([worker(1, 200), worker(1, 200)]);
    expect(new Set(one.ports).size).toBe(200);
    expect(new Set(two.ports).size).toBe(200);
    expect(one.ports.filter((p) => two.ports.includes(p))).toEqual([]);
    // Each holds a slice of its own; a lock port is never handed out.
    expect(lockOf(one.ports[0]!)).not.toBe(lockOf(two.ports[0]!));
    for (const { ports } of [one, two]) {
      expect(new Set(ports.map(lockOf)).size).toBe(1);
      expect(ports).not.toContain(lockOf(ports[0]!));
    }
  });

  it('gives workers of different ids disjoint ports', async () => {
    const [one, two] = await Promise.all([worker(1, 30), worker(2, 30)]);
    expect(one.ports.filter((p) => two.ports.includes(p))).toEqual([]);
  });

  it('frees the slice of a process that dies, even by SIGKILL', async () => {
    const { child, ports } = await worker(3, 1);
    const lock = lockOf(ports[0]!);
    // Held: another claim starting at that slice gets a different one.
    const other = await claimPortSlice((lock - SLICES_FROM) / SLICE_SIZE);
    try {
      expect(other.lock).not.toBe(lock);
    } finally {
      await other.release();
    }
    child.kill('SIGKILL');
    await waitFor(() => child.exitCode !== null || child.signalCode !== null, 10_000, 'the child to die');
    const again = await listen(lock);
    await new Promise((resolve) => again.close(resolve));
  });

  it('keeps every slice below the kernel ephemeral range', () => {
    const [ephemeralFrom] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8')
      .trim()
      .split(/\s+/)
      .map(Number);
    expect(SLICES_FROM).toBeGreaterThanOrEqual(1024);
    expect(SLICES_FROM + SLICE_COUNT * SLICE_SIZE - 1).toBeLessThan(ephemeralFrom!);
  });

  it('skips a port something listens on, and wraps around its range', async () => {
    const slice = await claimPortSlice(SLICE_COUNT - 1);
    const range = slice.ports;
    const allocator = new PortAllocator(range, range.last - 1);
    const busy = await listen(range.last);
    try {
      expect(await allocator.take()).toBe(range.last - 1);
      expect(await allocator.take()).toBe(range.first);
    } finally {
      await new Promise((resolve) => busy.close(resolve));
      await slice.release();
    }
  });
});
