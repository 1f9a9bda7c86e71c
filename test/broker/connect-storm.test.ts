// A reconnect storm from one address (a plant behind one NAT after a network blip) is waited in at
// the per-address rate with the default limits, never refused: MQTT.js and many other clients do
// not retry a refused CONNECT. (1,500 at once is beyond the former defaults, 100/s and a 5 s wait.)
import type { IConnackPacket } from 'mqtt-packet';
import { afterEach, expect, it } from 'vitest';
import { parseBrokerConfig } from '../../src/broker/config.js';
import { ConnectRateLimiter } from '../../src/broker/auth/rate-limit.js';
import { waitFor } from '../helpers/net.js';
import {
  closeRawSockets,
  connectPacket,
  parsePackets,
  rawSocket,
  startBroker,
  type TestBroker,
} from './helpers.js';

let b: TestBroker | undefined;
afterEach(async () => {
  closeRawSockets();
  await b?.stop();
  b = undefined;
});

it('the default limits admit 5,200 CONNECTs arriving at once from one address, each within 25 s', () => {
  const { limits } = parseBrokerConfig({});
  expect(limits.connectRatePerAddress).toBe(200);
  expect(limits.connectWaitMs).toBe(25_000);
  const limiter = new ConnectRateLimiter(limits.connectRatePerAddress, limits.connectWaitMs);
  const now = 1_000_000;
  const waits = Array.from({ length: 5200 }, () => limiter.admit('10.0.0.7', now));
  expect(waits.every((w) => w !== null && w <= 25_000)).toBe(true);
  expect(waits.filter((w) => w === 0)).toHaveLength(200); // the burst goes at once
  // Beyond the backlog a flood is refused; another address is not held up by it.
  expect(limiter.admit('10.0.0.7', now)).toBeNull();
  expect(limiter.admit('10.0.0.8', now)).toBe(0);
});

it('waits 1,500 CONNECTs sent at once from one address in with the default limits, refusing none', async () => {
  b = await startBroker({});
  const port = b.port;
  // Sockets first, then every CONNECT in one go: they arrive far faster than 200/s.
  const sockets = await Promise.all(Array.from({ length: 1500 }, () => rawSocket(port)));
  sockets.forEach((s, i) => s.write(connectPacket(`storm-${i}`)));
  const answers = (): Array<number | undefined> =>
    sockets.map((s) => (parsePackets(s.all())[0] as IConnackPacket | undefined)?.returnCode);
  await waitFor(() => answers().every((code) => code !== undefined), 60_000, 'a CONNACK for every client');
  expect(answers().filter((code) => code !== 0)).toEqual([]);
});
