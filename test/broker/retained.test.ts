// Retained messages: delivered on subscribe with the retain flag, replaced, deleted by an empty
// payload, and kept in SQLite across a broker restart.
import { describe, expect, it } from 'vitest';
import { Database } from '../../src/store/db.js';
import {
  brokersPerTest,
  closeClients,
  collect,
  connect,
  deliveredSoFar,
  startBroker,
  subscribe,
  tempDatabase,
  waitForCount,
} from './helpers.js';

const { start, cleanup } = brokersPerTest();

describe('retained messages', () => {
  it('delivers the last retained message to new subscribers, and an empty payload deletes it', async () => {
    const b = await start();
    const pub = await connect(b.url);
    await pub.publishAsync('r/a', 'first', { qos: 1, retain: true });
    await pub.publishAsync('r/a', 'second', { qos: 1, retain: true });
    await pub.publishAsync('r/b', 'other', { qos: 0, retain: true });

    const sub = await connect(b.url, { protocolVersion: 5 });
    const got = collect(sub);
    await subscribe(sub, 'r/#', { qos: 1 });
    await waitForCount(got, 2);
    expect(got.map((m) => [m.topic, m.payload, m.retain]).sort()).toEqual([
      ['r/a', 'second', true],
      ['r/b', 'other', true],
    ]);

    // A live message is not flagged retained for an ordinary subscription.
    await pub.publishAsync('r/a', 'live', { qos: 1, retain: true });
    await waitForCount(got, 3);
    expect(got[2]).toMatchObject({ payload: 'live', retain: false });

    await pub.publishAsync('r/a', '', { qos: 1, retain: true });
    const late = await connect(b.url);
    const lateGot = collect(late);
    await subscribe(late, 'r/#', { qos: 1 });
    await deliveredSoFar(pub, late, lateGot);
    expect(lateGot.map((m) => m.topic)).toEqual(['r/b']);
  });

  it('survives a broker restart through SQLite', async () => {
    const tmp = await tempDatabase();
    cleanup(tmp.cleanup);
    const first = await startBroker({}, tmp.db);
    const pub = await connect(first.url);
    await pub.publishAsync('keep/me', 'kept', { qos: 1, retain: true });
    await pub.publishAsync('keep/gone', 'x', { qos: 1, retain: true });
    await pub.publishAsync('keep/gone', '', { qos: 1, retain: true });
    await closeClients();
    await first.stop();
    await tmp.db.close();

    const db = await Database.open(tmp.file);
    cleanup(() => db.close());
    const second = await start({}, db);
    const sub = await connect(second.url);
    const got = collect(sub);
    await subscribe(sub, 'keep/#', { qos: 1 });
    await deliveredSoFar(second.broker, sub, got);
    expect(got.map((m) => [m.topic, m.payload, m.retain])).toEqual([['keep/me', 'kept', true]]);
  });
});
