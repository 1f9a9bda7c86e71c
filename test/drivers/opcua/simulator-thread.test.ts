// The OPC UA simulator in its worker thread, as the built gateway runs it (`tagwire start`, `tagwire
// sim`): listens, relays its log lines to the parent's logger, reports a start failure with its
// code, and frees its port on close. From the TypeScript sources it runs in-process (see thread.ts),
// so this test loads the build (built first if stale, as `npm start` does).
import { spawnSync } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { pino } from 'pino';
import { beforeAll, describe, expect, it } from 'vitest';
import { withSimulatorDefaults } from '../../../drivers/opcua/defaults.js';
import { freePort, waitForPort } from '../../helpers/net.js';
import { repoRoot } from '../../helpers/demo-config.js';

type ThreadModule = typeof import('../../../drivers/opcua/simulator/thread.js');
let thread: ThreadModule;

beforeAll(async () => {
  const build = spawnSync('node', ['scripts/build-if-stale.mjs'], { cwd: repoRoot, encoding: 'utf8' });
  if (build.status !== 0) throw new Error(`build failed: ${build.stdout}${build.stderr}`);
  const built = path.join(repoRoot, 'dist/drivers/opcua/simulator/thread.js');
  thread = (await import(pathToFileURL(built).href)) as ThreadModule;
}, 300_000);

function refused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => (socket.destroy(), resolve(false)));
    socket.once('error', () => resolve(true));
  });
}

describe('OPC UA simulator thread', () => {
  it('listens, relays its log lines, refuses a busy port with EADDRINUSE, frees its port on close', async () => {
    const lines: Array<Record<string, unknown>> = [];
    const log = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line)) });
    const port = await freePort();
    const sim = await thread.startOpcuaSimulatorThread(withSimulatorDefaults({ port }), log);
    try {
      expect(sim.endpointUrl).toBe(`opc.tcp://127.0.0.1:${port}`);
      await waitForPort(port);
      const listening = lines.find((l) => l.msg === 'OPC UA simulator listening');
      expect(listening).toMatchObject({ level: 30, endpointUrl: sim.endpointUrl });

      const second = thread.startOpcuaSimulatorThread(withSimulatorDefaults({ port }), log);
      await expect(second).rejects.toMatchObject({ code: 'EADDRINUSE' });
    } finally {
      await sim.close();
    }
    expect(await refused(port)).toBe(true);
  }, 120_000);
});
