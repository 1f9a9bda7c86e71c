// Will messages: sent when a connection ends without DISCONNECT, not after a clean one, sent on
// v5 DISCONNECT 0x04, held for the v5 will delay and dropped when the client comes back in time.
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import {
  closeClients,
  closeRawSockets,
  collect,
  connectPacket,
  connect,
  packet,
  rawSocket,
  startBroker,
  subscribe,
  waitForCount,
  type TestBroker,
} from './helpers.js';
import { sleep, waitFor } from '../helpers/net.js';

let b: TestBroker;
beforeAll(async () => {
  b = await startBroker();
});
afterEach(async () => {
  closeRawSockets();
  await closeClients();
});
afterAll(() => b.stop());

async function watcher(filter: string) {
  const client = await connect(b.url, { protocolVersion: 5 });
  const got = collect(client);
  await subscribe(client, filter, { qos: 1 });
  return got;
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
  await sleep(300);
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

it('v5: holds the will for its delay, and drops it when the session resumes in time', async () => {
  const got = await watcher('will/delay/#');
  const persistent = { protocolVersion: 5 as const, clean: false, properties: { sessionExpiryInterval: 60 } };
  const returning = await rawSocket(b.port);
  returning.write(
    connectPacket('returning', {
      ...persistent,
      will: will('will/delay/returning', { properties: { willDelayInterval: 2 } }),
    }),
  );
  const late = await rawSocket(b.port);
  late.write(
    connectPacket('late', {
      ...persistent,
      will: will('will/delay/late', { properties: { willDelayInterval: 1 } }),
    }),
  );
  await waitFor(() => returning.received.length > 0 && late.received.length > 0, 10_000, 'CONNACKs');
  returning.socket.destroy();
  late.socket.destroy();
  await sleep(300);
  expect(got).toHaveLength(0);
  const back = await rawSocket(b.port);
  back.write(connectPacket('returning', persistent));
  await waitFor(() => back.received.length > 0, 10_000, 'CONNACK');
  await waitForCount(got, 1);
  await sleep(2500);
  expect(got.map((m) => m.topic)).toEqual(['will/delay/late']);
});
