// The tank simulator of the test-only driver: a TCP server answering one JSON line per request
// (`read` names, `write` one name), with a level that rises on its own so samples keep changing.
import net from 'node:net';
import type { DriverLogger, RunningSimulator } from '../../../drivers/types.js';
import type { TankSimulatorConfig } from './types.js';

export interface TankSimulator extends RunningSimulator {
  /** The tank's values, for the test to check what a command wrote. */
  values: Map<string, number>;
}

export async function startTankSimulator(
  config: TankSimulatorConfig,
  log: DriverLogger,
): Promise<TankSimulator> {
  const values = new Map<string, number>([
    ['level', 0],
    ['valve', 0],
  ]);
  const timer = setInterval(() => values.set('level', (values.get('level') ?? 0) + 1), config.stepMs);
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    let buffered = '';
    socket.on('data', (chunk) => {
      buffered += chunk.toString('utf8');
      for (let end = buffered.indexOf('\n'); end >= 0; end = buffered.indexOf('\n')) {
        const request = JSON.parse(buffered.slice(0, end)) as TankRequest;
        buffered = buffered.slice(end + 1);
        socket.write(`${JSON.stringify(answer(values, request))}\n`);
      }
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, resolve);
  });
  log.info({ port: config.port }, 'tank simulator listening');
  return {
    address: `tank://${config.host}:${config.port}`,
    values,
    close: async () => {
      clearInterval(timer);
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

export type TankRequest =
  { id: number; op: 'read'; names: string[] } | { id: number; op: 'write'; name: string; value: number };

export type TankAnswer =
  { id: number; values: Record<string, number | null> } | { id: number; error: string };

function answer(values: Map<string, number>, request: TankRequest): TankAnswer {
  if (request.op === 'write') {
    if (!values.has(request.name)) return { id: request.id, error: `no value "${request.name}"` };
    values.set(request.name, request.value);
    return { id: request.id, values: { [request.name]: request.value } };
  }
  return { id: request.id, values: Object.fromEntries(request.names.map((n) => [n, values.get(n) ?? null])) };
}
