// A `port: 0` simulator picks a free port, then node-opcua listens on it a moment later: another
// process may take it in between (parallel test files do). The simulator then picks again.
import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { withSimulatorDefaults } from '../../../drivers/opcua/defaults.js';
import { startOpcuaSimulator } from '../../../drivers/opcua/simulator/index.js';
import { freePort, waitForPort } from '../../helpers/net.js';
import { silentLogger } from '../../../src/log.js';

describe('OPC UA simulator on port 0', () => {
  it('picks another port when the one it picked is taken before it listens', async () => {
    const taken = net.createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const takenPort = (taken.address() as net.AddressInfo).port;
    const picks: number[] = [];
    const pick = async (): Promise<number> => {
      const port = picks.length === 0 ? takenPort : await freePort();
      picks.push(port);
      return port;
    };
    try {
      const sim = await startOpcuaSimulator(withSimulatorDefaults({ port: 0 }), silentLogger(), pick);
      try {
        expect(picks).toHaveLength(2);
        expect(sim.port).toBe(picks[1]);
        expect(sim.endpointUrl).toBe(`opc.tcp://127.0.0.1:${picks[1]}`);
        await waitForPort(sim.port);
      } finally {
        await sim.close();
      }
    } finally {
      taken.close();
    }
  }, 60_000);

  it('keeps a configured port: a busy one is an error, not a silent move', async () => {
    const taken = net.createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const port = (taken.address() as net.AddressInfo).port;
    try {
      await expect(startOpcuaSimulator(withSimulatorDefaults({ port }), silentLogger())).rejects.toThrow(
        /EADDRINUSE/,
      );
    } finally {
      taken.close();
    }
  }, 60_000);
});
