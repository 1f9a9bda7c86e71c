// The port allocator: vitest workers (test files running in parallel) are never handed the same
// port, and a port already taken is skipped.
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { PortAllocator, workerPortRange } from './net.js';

const child = fileURLToPath(new URL('./ports-child.ts', import.meta.url));

/** Ports a separate process taking the part of vitest worker `poolId` gets from freePort(). */
async function portsOfWorker(poolId: number, count: number): Promise<number[]> {
  const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', child, String(count)], {
    env: { ...process.env, VITEST_POOL_ID: String(poolId) },
    timeout: 30_000,
  });
  return JSON.parse(stdout) as number[];
}

function listen(port: number): Promise<net.Server> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve(server));
  });
}

describe('freePort across workers', () => {
  it('gives two workers running at the same time disjoint ports, none twice', async () => {
    const [one, two] = await Promise.all([portsOfWorker(1, 40), portsOfWorker(2, 40)]);
    expect(new Set(one).size).toBe(40);
    expect(new Set(two).size).toBe(40);
    expect(one.filter((p) => two.includes(p))).toEqual([]);
    expect(one.every((p) => p >= workerPortRange(1).first && p <= workerPortRange(1).last)).toBe(true);
    expect(two.every((p) => p >= workerPortRange(2).first && p <= workerPortRange(2).last)).toBe(true);
  });

  it('keeps the slices of all workers apart and below the kernel ephemeral range', () => {
    const [ephemeralFrom] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8')
      .trim()
      .split(/\s+/)
      .map(Number);
    const ranges = Array.from({ length: 24 }, (_, i) => workerPortRange(i + 1));
    const sorted = [...ranges].sort((a, b) => a.first - b.first);
    for (let i = 1; i < sorted.length; i++) expect(sorted[i]!.first).toBeGreaterThan(sorted[i - 1]!.last);
    expect(sorted[0]!.first).toBeGreaterThanOrEqual(1024);
    expect(sorted.at(-1)!.last).toBeLessThan(ephemeralFrom!);
    expect(() => workerPortRange(0)).toThrow(/pool id/);
  });

  it('skips a port something listens on, and wraps around its slice', async () => {
    const range = workerPortRange(24);
    const allocator = new PortAllocator(range, range.last - 1);
    const busy = await listen(range.last);
    try {
      expect(await allocator.take()).toBe(range.last - 1);
      expect(await allocator.take()).toBe(range.first);
    } finally {
      await new Promise((resolve) => busy.close(resolve));
    }
  });
});
