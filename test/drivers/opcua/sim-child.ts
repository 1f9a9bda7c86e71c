// A simulator in its own process, so a test can kill it (SIGKILL) and start it again on the same port.
// Usage: tsx sim-child.ts PORT PKI_DIR; prints "READY <endpointUrl>" once listening.
import { startOpcuaSimulator } from '../../../drivers/opcua/simulator/index.js';
import { withSimulatorDefaults } from '../../../drivers/opcua/defaults.js';
import { silentLogger } from '../../../src/log.js';

const [port, pkiDir, loadCount, loadIntervalMs] = process.argv.slice(2);
const sim = await startOpcuaSimulator(
  withSimulatorDefaults({
    port: Number(port),
    pkiDir,
    updateMs: 100,
    loadPoints: { count: Number(loadCount ?? 0), intervalMs: Number(loadIntervalMs ?? 1000) },
  }),
  silentLogger(),
);
process.stdout.write(`READY ${sim.endpointUrl}\n`);
const stop = () => void sim.close().finally(() => process.exit(0));
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
