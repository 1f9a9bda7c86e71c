// Small network helpers shared by the integration tests. Loopback only; every wait is bounded.
import net from 'node:net';

/**
 * A TCP port free on 127.0.0.1 right now, that no other test file of this run is handed.
 *
 * Asking the kernel for port 0 and closing it again races: parallel vitest workers can be told the
 * same port before either binds it. Under vitest each worker (VITEST_POOL_ID) takes ports from its
 * own slice below the kernel's ephemeral range, in turn, skipping any that does not bind; outside
 * vitest (benchmarks, scripts) the kernel picks one.
 */
export async function freePort(): Promise<number> {
  return workerPorts ? workerPorts.take() : kernelPort();
}

/** Ports handed to test workers: below the ephemeral range (32768 up), where connections get theirs. */
const WORKER_PORTS_FROM = 20_000;
const PORTS_PER_WORKER = 500;
const WORKER_SLOTS = 24;

/** The slice of ports of vitest worker `poolId` (1, 2, ...); slices of different workers never overlap. */
export function workerPortRange(poolId: number): { first: number; last: number } {
  if (!Number.isInteger(poolId) || poolId < 1)
    throw new Error(`worker pool id must be 1 or more, got ${poolId}`);
  const first = WORKER_PORTS_FROM + ((poolId - 1) % WORKER_SLOTS) * PORTS_PER_WORKER;
  return { first, last: first + PORTS_PER_WORKER - 1 };
}

/**
 * Hands out the ports of one slice in turn, from `startAt` (one file after another in the same
 * worker start at different places), each checked by binding it; never the same one twice until
 * the slice wraps around.
 */
export class PortAllocator {
  private next: number;

  constructor(
    private readonly range: { first: number; last: number },
    startAt = range.first,
  ) {
    this.next = startAt;
  }

  async take(): Promise<number> {
    const size = this.range.last - this.range.first + 1;
    for (let tried = 0; tried < size; tried++) {
      const port = this.next;
      this.next = port >= this.range.last ? this.range.first : port + 1;
      if (await canListen(port)) return port;
    }
    throw new Error(`no free port in ${this.range.first}-${this.range.last}`);
  }
}

const poolId = Number(process.env.VITEST_POOL_ID);
const workerPorts =
  poolId >= 1
    ? (() => {
        const range = workerPortRange(poolId);
        return new PortAllocator(range, range.first + (process.pid % PORTS_PER_WORKER));
      })()
    : undefined;

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

function kernelPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** Resolves once something accepts TCP connections on host:port; rejects after `timeoutMs`. */
export async function waitForPort(port: number, host = '127.0.0.1', timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const open = await new Promise<boolean>((resolve) => {
      const socket = net.connect({ port, host });
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (open) return;
    await sleep(50);
  }
  throw new Error(`nothing listening on ${host}:${port} after ${timeoutMs} ms`);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `check` until it returns a truthy value or `timeoutMs` passes. */
export async function waitFor<T>(
  check: () => T | Promise<T>,
  timeoutMs = 10_000,
  what = 'condition',
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(20);
  }
}
