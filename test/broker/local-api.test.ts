// The in-process LocalBroker API: handlers see client publishes with their origin and v5
// properties; the gateway's own publishes reach network subscribers and handlers.
import { expect, it } from 'vitest';
import type { DeliveredMessage } from '../../src/broker/api.js';
import { hashPassword } from '../../src/broker/auth/password.js';
import { collect, connect, subscribe, useBroker, waitForCount } from './helpers.js';
import { waitFor } from '../helpers/net.js';

const b = useBroker(async () => ({ users: [{ username: 'ops', passwordHash: await hashPassword('pw') }] }));

it('gives handlers the publisher identity and the v5 properties as published', async () => {
  const seen: DeliveredMessage[] = [];
  const unsubscribe = b.broker.subscribe('cmd/+/set', (m) => seen.push(m));
  const client = await connect(b.url, {
    protocolVersion: 5,
    clientId: 'hmi-7',
    username: 'ops',
    password: 'pw',
  });
  await client.publishAsync('cmd/setpoint/set', '{"value":1}', {
    qos: 1,
    properties: {
      responseTopic: 'reply/hmi-7',
      correlationData: Buffer.from([1, 2, 3]),
      contentType: 'application/json',
      userProperties: { site: 'p1' },
    },
  });
  await waitFor(() => seen.length === 1, 10_000, 'the handler to run');
  const m = seen[0]!;
  expect(m.topic).toBe('cmd/setpoint/set');
  expect(m.payload.toString()).toBe('{"value":1}');
  expect(m.qos).toBe(1);
  expect(m.origin).toEqual({ kind: 'client', clientId: 'hmi-7', username: 'ops' });
  expect(m.properties?.responseTopic).toBe('reply/hmi-7');
  expect(Buffer.compare(m.properties!.correlationData!, Buffer.from([1, 2, 3]))).toBe(0);
  expect(m.properties?.contentType).toBe('application/json');
  expect(m.properties?.userProperties).toEqual({ site: 'p1' });

  unsubscribe();
  await client.publishAsync('cmd/setpoint/set', 'again', { qos: 1 });
  // The client's publishes are routed in order: once a later one reached a handler, 'again' was
  // routed too, past the handler that is gone.
  let marked = false;
  b.broker.subscribe('cmd/marker', () => (marked = true));
  await client.publishAsync('cmd/marker', 'x', { qos: 1 });
  await waitFor(() => marked, 10_000, 'the marker');
  expect(seen).toHaveLength(1);
});

it('delivers gateway publishes and batches to network subscribers and handlers, and stores retained ones', async () => {
  const v5 = await connect(b.url, { protocolVersion: 5 });
  const v5Got = collect(v5);
  await subscribe(v5, 'plant/#', { qos: 1 });
  const v3 = await connect(b.url, { protocolVersion: 4 });
  const v3Got = collect(v3);
  await subscribe(v3, 'plant/+/temp', { qos: 1 });
  const local: DeliveredMessage[] = [];
  b.broker.subscribe('plant/#', (m) => local.push(m));

  b.broker.publish({ topic: 'plant/p1/temp', payload: Buffer.from('21.5'), qos: 1, retain: true });
  b.broker.publishBatch([
    { topic: 'plant/p2/temp', payload: Buffer.from('22'), qos: 1, retain: false },
    {
      topic: 'plant/p2/state',
      payload: Buffer.from('"ok"'),
      qos: 0,
      retain: false,
      properties: { contentType: 'application/json', userProperties: { unit: 'none' } },
    },
  ]);
  await waitForCount(v5Got, 3);
  await waitForCount(v3Got, 2);
  expect(v5Got.map((m) => m.payload)).toEqual(['21.5', '22', '"ok"']);
  expect(v5Got[2]!.properties).toMatchObject({
    contentType: 'application/json',
    userProperties: { unit: 'none' },
  });
  expect(v3Got.map((m) => m.topic)).toEqual(['plant/p1/temp', 'plant/p2/temp']);
  expect(local.map((m) => m.origin)).toEqual([
    { kind: 'internal', component: 'gateway' },
    { kind: 'internal', component: 'gateway' },
    { kind: 'internal', component: 'gateway' },
  ]);

  const late = await connect(b.url);
  const lateGot = collect(late);
  await subscribe(late, 'plant/p1/temp', { qos: 1 });
  await waitForCount(lateGot, 1);
  expect(lateGot[0]).toMatchObject({ payload: '21.5', retain: true });
});

it('rejects bad topics from in-process callers with a clear error and publishes none of a bad batch', () => {
  const local: DeliveredMessage[] = [];
  b.broker.subscribe('batch/#', (m) => local.push(m));
  expect(() =>
    b.broker.publishBatch([
      { topic: 'batch/ok', payload: Buffer.from('1'), qos: 0, retain: false },
      { topic: 'batch/+/bad', payload: Buffer.from('2'), qos: 0, retain: false },
    ]),
  ).toThrow(/cannot publish to "batch\/\+\/bad": topic name contains a wildcard/);
  expect(local).toHaveLength(0);
  expect(() => b.broker.subscribe('a/#/b', () => undefined)).toThrow(
    /'#' must be a whole level and the last one/,
  );
});

it('a throwing handler does not stop delivery to others', async () => {
  const sub = await connect(b.url);
  const got = collect(sub);
  await subscribe(sub, 'boom/x', { qos: 0 });
  b.broker.subscribe('boom/#', () => {
    throw new Error('handler bug');
  });
  b.broker.publish({ topic: 'boom/x', payload: Buffer.from('still'), qos: 0, retain: false });
  await waitForCount(got, 1);
  expect(got[0]!.payload).toBe('still');
});
