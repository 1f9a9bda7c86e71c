// Will messages: sent when a connection ends without DISCONNECT, not after a clean one, sent on
// v5 DISCONNECT 0x04, held for the v5 will delay and dropped when the client comes back in time.
import type { MqttClient } from 'mqtt';
import { beforeEach, expect, it } from 'vitest';
import {
  brokersPerTest,
  collect,
  connectPacket,
  connect,
  deliveredSoFar,
  packet,
  rawSocket,
  subscribe,
  waitForCount,
  type Received,
  type TestBroker,
} from './helpers.js';
import { sleep, waitFor } from '../helpers/net.js';

// A broker per test: its connection count then says exactly when a closed client is gone.
const brokers = brokersPerTest();
let b: TestBroker;
beforeEach(async () => {
  b = await brokers.start();
});

let watching: MqttClient;
async function watcher(filter: string): Promise<Received[]> {
  watching = await connect(b.url, { protocolVersion: 5 });
  const got = collect(watching);
  await subscribe(watching, filter, { qos: 1 });
  return got;
}

/**
 * Waits until the broker has let go of every connection but the watcher's (a will without delay is
 * routed right then), then until a marker behind it reached the watcher: any will sent by now is in.
 */
async function settled(got: Received[]): Promise<void> {
  await waitFor(() => b.broker.stats().connections === 1, 10_000, 'the broker to close the others');
  await deliveredSoFar(b.broker, watching, got);
}

const will = (topic: string, extra: Record<string, unknown> = {}) => ({
  topic,
  payload: Buffer.from('offline'),
  qos: 1 as const,
  retain: false,
  ...extra,
});

it('publishes the will when the connection drops', async () => {
  const got = await watcher('will/drop');
  const s = await rawSocket(b.port);
  s.write(connectPacket('dropper', { will: will('will/drop') }));
  await waitFor(() => s.received.length > 0, 10_000, 'CONNACK');
  s.socket.destroy();
  await waitForCount(got, 1);
  expect(got[0]).toMatchObject({ topic: 'will/drop', payload: 'offline', qos: 1 });
});

it('sends no will after a clean DISCONNECT', async () => {
  const got = await watcher('will/clean');
  const s = await rawSocket(b.port);
  s.write(connectPacket('polite', { will: will('will/clean') }));
  await waitFor(() => s.received.length > 0, 10_000, 'CONNACK');
  s.write(packet({ cmd: 'disconnect' }));
  await s.ended;
  await settled(got);
  expect(got).toHaveLength(0);
});

it('v5: DISCONNECT with reason 0x04 sends the will, with its properties', async () => {
  const got = await watcher('will/asked');
  const s = await rawSocket(b.port);
  s.write(
    connectPacket('asker', {
      protocolVersion: 5,
      will: will('will/asked', {
        properties: { contentType: 'text/plain', userProperties: { why: 'test' } },
      }),
    }),
  );
  await waitFor(() => s.received.length > 0, 10_000, 'CONNACK');
  s.write(packet({ cmd: 'disconnect', reasonCode: 0x04 }, 5));
  await waitForCount(got, 1);
  expect(got[0]!.properties).toMatchObject({ contentType: 'text/plain', userProperties: { why: 'test' } });
});

/** Long enough for the returning client to be back in time on a loaded machine. */
const RETURNING_DELAY_SEC = 5;

it('v5: holds the will for its delay, and drops it when the session resumes in time', async () => {
  const got = await watcher('will/delay/#');
  const persistent = { protocolVersion: 5 as const, clean: false, properties: { sessionExpiryInterval: 60 } };
  const returning = await rawSocket(b.port);
  returning.write(
    connectPacket('returning', {
      ...persistent,
      will: will('will/delay/returning', { properties: { willDelayInterval: RETURNING_DELAY_SEC } }),
    }),
  );
  const late = await rawSocket(b.port);
  late.write(
    connectPacket('late', {
      ...persistent,
      will: will('will/delay/late', { properties: { willDelayInterval: 2 } }),
    }),
  );
  await waitFor(() => returning.received.length > 0 && late.received.length > 0, 10_000, 'CONNACKs');
  returning.socket.destroy();
  late.socket.destroy();
  const droppedAt = Date.now();
  await settled(got);
  expect(got).toHaveLength(0); // both held
  const back = await rawSocket(b.port);
  back.write(connectPacket('returning', persistent));
  await waitFor(() => back.received.length > 0, 10_000, 'CONNACK');
  await waitForCount(got, 1);
  // Time itself is under test: past the returning client's delay, its will must still not come.
  await sleep(Math.max(0, droppedAt + RETURNING_DELAY_SEC * 1000 + 500 - Date.now()));
  await deliveredSoFar(b.broker, watching, got);
  expect(got.map((m) => m.topic)).toEqual(['will/delay/late']);
});
