// `npx tsx bench/modbus-sim.ts`: requests per second our Modbus simulator serves, against
// modbus-serial's ServerTCP (the peer issue 2 names: it defers each request by a timer). Same client
// for both: our Modbus TCP link, one request at a time and 16 in flight, FC 3 reads of 10 registers.
// Client and server share this process, for both servers alike.
import ModbusRTU from 'modbus-serial';
import { modbusDeviceConfig, modbusSimulatorConfig } from '../drivers/modbus/config.js';
import { startModbusSimulator } from '../drivers/modbus/simulator/index.js';
import { ModbusLink } from '../drivers/modbus/transport/link.js';
import type { DriverLogger } from '../drivers/types.js';
import { silentLogger } from '../src/log.js';
import { freePort, waitForPort } from '../test/helpers/net.js';
import { record } from './results.js';

const quiet: DriverLogger = { debug() {}, info() {}, warn() {}, error() {}, child: () => quiet };
const DURATION_MS = Number(process.env.BENCH_SIM_MS ?? 3000);

async function requestsPerSecond(port: number, inFlight: number): Promise<number> {
  const device = modbusDeviceConfig({
    id: 'bench',
    transport: { type: 'tcp', host: '127.0.0.1', port, maxInFlight: inFlight },
  });
  const link = new ModbusLink(device.transport, device, quiet);
  const connected = new Promise<void>((resolve) =>
    link.attach({ onState: (s) => s === 'connected' && resolve() }),
  );
  await connected;
  let done = 0;
  const end = performance.now() + DURATION_MS;
  const worker = async () => {
    while (performance.now() < end) {
      const { response } = await link.request(1, { fc: 3, address: 0, quantity: 10 }, 5000, 'normal');
      if (response.kind !== 'data') throw new Error(`unexpected ${response.kind} reply`);
      done++;
    }
  };
  const t0 = performance.now();
  await Promise.all(Array.from({ length: inFlight }, worker));
  const rate = (done * 1000) / (performance.now() - t0);
  await link.detach({ onState: () => {} }).catch(() => {});
  return rate;
}

async function main(): Promise<void> {
  const ours = await startModbusSimulator(
    modbusSimulatorConfig({ port: 0, profile: 'none', unmapped: 'zero' }),
    silentLogger(),
  );
  const theirsPort = await freePort();
  const theirs = new ModbusRTU.ServerTCP(
    { getHoldingRegister: (addr: number) => addr & 0xffff },
    { host: '127.0.0.1', port: theirsPort, unitID: 1 },
  );
  await waitForPort(theirsPort);

  console.log('| server | 1 in flight, req/s | 16 in flight, req/s |');
  console.log('|---|---:|---:|');
  const rows: [string, number, number][] = [];
  for (const [name, port] of [
    ['tagwire simulator', ours.port],
    ['modbus-serial ServerTCP', theirsPort],
  ] as const) {
    rows.push([name, await requestsPerSecond(port, 1), await requestsPerSecond(port, 16)]);
  }
  for (const [name, one, sixteen] of rows)
    console.log(`| ${name} | ${one.toFixed(0)} | ${sixteen.toFixed(0)} |`);
  const [, o1, o16] = rows[0]!;
  const [, t1, t16] = rows[1]!;
  console.log(`| ratio | ${(o1 / t1).toFixed(1)}x | ${(o16 / t16).toFixed(1)}x |`);
  record('modbus-sim', {
    oneInFlightPerSec: Math.round(o1),
    sixteenInFlightPerSec: Math.round(o16),
    ratio1: o1 / t1,
    ratio16: o16 / t16,
  });
  await ours.close();
  await new Promise<void>((resolve) => theirs.close(() => resolve()));
  process.exit(0);
}

await main();
