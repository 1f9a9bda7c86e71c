// The benchmark's OPC UA server, in its own process so its CPU is not counted as the gateway's.
// Usage: tsx bench/opcua-sim.ts PORT PKI_DIR POINTS INTERVAL_MS; prints "READY <endpointUrl>".
import { startOpcuaSimulator } from '../drivers/opcua/simulator/index.js';
import { withSimulatorDefaults } from '../drivers/opcua/defaults.js';
import { silentLogger } from '../src/log.js';

const [port, pkiDir, count, intervalMs] = process.argv.slice(2).map((a, i) => (i === 1 ? a : Number(a))) as [
  number,
  string,
  number,
  number,
];
const sim = await startOpcuaSimulator(
  withSimulatorDefaults({ port, pkiDir, updateMs: 1000, loadPoints: { count, intervalMs } }),
  silentLogger(),
);
process.stdout.write(`READY ${sim.endpointUrl}\n`);
// How many update rounds the server really made: on a loaded machine its timer falls behind.
setInterval(() => process.stdout.write(`ROUNDS ${sim.loadRounds()}\n`), 500).unref();
const stop = () => void sim.close().finally(() => process.exit(0));
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
