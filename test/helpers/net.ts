// Small network helpers shared by the integration tests. Loopback only; every wait is bounded.
import net from 'node:net';

/**
 * A TCP port free on 127.0.0.1 right now, that no other process using freePort() is handed.
 *
 * Asking the kernel for port 0 and closing it again races: parallel vitest workers, or two test runs
 * at once (two clones), can be told the same port before either binds it. Under vitest each process
 * holds a slice of its own (claimPortSlice) for as long as it lives and takes ports from it in
 * turn, skipping any that does not bind; outside vitest (benchmarks, scripts) the kernel picks one.
 */
export async function freePort(): Promise<number> {
  const poolId = Number(process.env.VITEST_POOL_ID);
  if (!Number.isInteger(poolId)) return kernelPort();
  // Workers of one run start at different slices, so they rarely have to try more than one.
  slicePorts ??= claimPortSlice(poolId - 1).then(
    (slice) => new PortAllocator(slice.ports, slice.ports.first + (process.pid % SLICE_SIZE)),
  );
  return (await slicePorts).take();
}

let slicePorts: Promise<PortAllocator> | undefined;

/** Slices are cut from here up: below the ephemeral range (32768 up), where connections get theirs. */
export const SLICES_FROM = 20_000;
export const SLICE_SIZE = 250;
export const SLICE_COUNT = 48;

export interface PortRange {
  first: number;
  last: number;
}

export interface PortSlice {
  /** The port whose listener marks the slice as held; never handed out. */
  lock: number;
  /** The ports handed out from the slice. */
  ports: PortRange;
  /** Gives the slice back (it also goes back when the process ends, however it ends). */
  release(): Promise<void>;
}

/**
 * Claims a slice of ports for this process, trying slices from `preferred` on. A slice is held by
 * listening on its first port: the bind is atomic across processes, and the kernel lets go of it
 * when the holder dies, even by SIGKILL, so no lock file can go stale.
 */
export async function claimPortSlice(preferred = 0): Promise<PortSlice> {
  for (let tried = 0; tried < SLICE_COUNT; tried++) {
    const index = (((preferred + tried) % SLICE_COUNT) + SLICE_COUNT) % SLICE_COUNT;
    const lock = SLICES_FROM + index * SLICE_SIZE;
    const holder = await listenOn(lock);
    if (!holder) continue;
    holder.unref(); // holding a slice never keeps the process alive
    holder.on('connection', (socket) => socket.destroy());
    return {
      lock,
      ports: { first: lock + 1, last: lock + SLICE_SIZE - 1 },
      release: () => new Promise((resolve) => holder.close(() => resolve())),
    };
  }
  throw new Error(`all ${SLICE_COUNT} port slices from ${SLICES_FROM} are held by other processes`);
}

/**
 * Hands out the ports of one range in turn, from `startAt` (one process after another in the same
 * slice start at different places), each checked by binding it; never the same one twice until
 * the range wraps around.
 */
export class PortAllocator {
  private next: number;

  constructor(
    private readonly range: PortRange,
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

/** A server listening on 127.0.0.1:`port`, or undefined when the port is taken. */
function listenOn(port: number): Promise<net.Server | undefined> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(undefined));
    server.listen(port, '127.0.0.1', () => resolve(server));
  });
}

async function canListen(port: number): Promise<boolean> {
  const server = await listenOn(port);
  if (!server) return false;
  await new Promise((resolve) => server.close(resolve));
  return true;
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
