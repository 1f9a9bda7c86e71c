// Bad network input: an endpoint that answers with garbage, or accepts and hangs, never crashes the
// process or blocks start; the driver reports it and keeps retrying.
import fs from 'node:fs';
import net from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import type { OpcuaDriver } from '../../../drivers/opcua/driver.js';
import { waitFor } from '../../helpers/net.js';
import { makeDriver, recorder, tag, tempDir } from './harness.js';

const dataDir = tempDir('tagwire-opcua-garbage-');
const servers: net.Server[] = [];
const sockets = new Set<net.Socket>();
const drivers: OpcuaDriver[] = [];

afterAll(async () => {
  await Promise.allSettled(drivers.map((d) => d.stop()));
  for (const s of sockets) s.destroy();
  await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  fs.rmSync(dataDir, { recursive: true, force: true });
});

async function listen(onConnection: (socket: net.Socket) => void): Promise<number> {
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => undefined);
    socket.on('close', () => sockets.delete(socket));
    onConnection(socket);
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as net.AddressInfo).port;
}

describe('hostile endpoints', { timeout: 90_000 }, () => {
  it('survives garbage answers and keeps retrying', async () => {
    let connections = 0;
    const port = await listen((socket) => {
      connections++;
      socket.write(Buffer.from('HTTP/1.1 400 Bad Request\r\n\r\n\x00\xff\xfe garbage that is not OPC UA'));
      socket.end();
    });
    const rec = recorder();
    const driver = makeDriver(
      {
        id: 'garbage',
        endpointUrl: `opc.tcp://127.0.0.1:${port}`,
        reconnectInitialDelayMs: 100,
        reconnectMaxDelayMs: 500,
      },
      [tag('x', 'ns=2;s=A')],
      dataDir,
      rec,
    );
    drivers.push(driver);
    await driver.start();
    await waitFor(() => connections >= 3, 60_000, 'three attempts');
    expect(driver.status().state).not.toBe('connected');
    expect(driver.status().lastError).toBeTruthy();
    expect(rec.last('x')).toMatchObject({ quality: 'bad', reason: 'disconnected' });
  });

  it('bounds a connect to an endpoint that accepts and never answers', async () => {
    const port = await listen(() => undefined);
    const driver = makeDriver(
      {
        id: 'silent',
        endpointUrl: `opc.tcp://127.0.0.1:${port}`,
        connectTimeoutMs: 1000,
        reconnectInitialDelayMs: 100,
      },
      [tag('x', 'ns=2;s=A')],
      dataDir,
      recorder(),
    );
    drivers.push(driver);
    // start() does not wait for the connection: it resolves while the attempt still hangs.
    await driver.start();
    expect(driver.status().state).toBe('connecting');
    const error = await waitFor(() => driver.status().lastError, 30_000, 'a timeout error');
    expect(error).toMatch(/timed out|no answer/);
    await driver.stop();
    expect(driver.status().state).toBe('stopped');
  });
});
