// A write that failed is never reported as done. The broker's SQLite is made to refuse writes (a
// trigger raising SQLITE_FULL's message, as a full disk would); a bridge outbox is held at its
// drop-newest bound. MQTT 5 publishers get PUBACK/PUBREC 0x80 (write failed) or 0x97 (quota);
// MQTT 3.1.1 publishers get no PUBACK at all; the failure is logged once, with counts.
import mqtt, { type MqttClient } from 'mqtt';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { parseBridgeConfig } from '../../src/bridge/config.js';
import { BridgeManager } from '../../src/bridge/manager.js';
import { startBroker, tempDatabase, type TestBroker } from '../broker/helpers.js';
import { freePort, waitFor } from '../helpers/net.js';

type Refusals = Map<number, number>;

/** Publishes `count` messages; resolves with the reason codes of the refusals once all answered. */
function publishAll(
  client: MqttClient,
  topic: string,
  count: number,
  opts: { qos: 1 | 2; retain?: boolean },
): Promise<{ ok: number; refused: Refusals }> {
  let ok = 0;
  const refused: Refusals = new Map();
  return Promise.all(
    Array.from(
      { length: count },
      (_, i) =>
        new Promise<void>((resolve) =>
          client.publish(topic, `m${i}`, opts, (err) => {
            if (!err) ok++;
            else {
              const code = (err as Error & { code?: number }).code ?? -1;
              refused.set(code, (refused.get(code) ?? 0) + 1);
            }
            resolve();
          }),
        ),
    ),
  ).then(() => ({ ok, refused }));
}

describe('storage errors are not acknowledged', () => {
  const cleanup: (() => Promise<unknown> | void)[] = [];
  afterEach(async () => {
    for (const step of cleanup.splice(0).reverse()) await step();
  });

  async function setup() {
    const store = await tempDatabase();
    cleanup.push(() => store.cleanup());
    const lines: { level: number; msg: string; failures?: number; items?: number }[] = [];
    const log = pino({ level: 'info' }, { write: (line: string) => lines.push(JSON.parse(line) as never) });
    const server: TestBroker = await startBroker({}, store.db, log);
    cleanup.push(() => server.stop());
    const connect = async (clientId: string, protocolVersion: 4 | 5, clean = true) => {
      const client = await mqtt.connectAsync(server.url, {
        clientId,
        protocolVersion,
        clean,
        reconnectPeriod: 0,
        ...(protocolVersion === 5 && !clean ? { properties: { sessionExpiryInterval: 600 } } : {}),
      });
      cleanup.push(() => client.endAsync(true));
      return client;
    };
    return { store, server, lines, log, connect };
  }

  it('a failed session write: MQTT 5 gets 0x80, MQTT 3.1.1 no PUBACK, one log line', async () => {
    const { store, lines, connect } = await setup();
    const sub = await connect('offline-sub', 5, false);
    await sub.subscribeAsync('plant/#', { qos: 1 });
    await sub.endAsync();
    const v5 = await connect('pub-v5', 5);
    expect((await publishAll(v5, 'plant/a', 10, { qos: 1 })).ok).toBe(10);

    await store.db.exec(
      "CREATE TRIGGER refuse_messages BEFORE INSERT ON broker_session_messages BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END",
    );
    const before = lines.length;
    const qos1 = await publishAll(v5, 'plant/a', 300, { qos: 1 });
    expect(qos1.ok).toBe(0);
    expect([...qos1.refused]).toEqual([[0x80, 300]]);
    const qos2 = await publishAll(v5, 'plant/b', 20, { qos: 2 });
    expect(qos2.ok).toBe(0);
    expect([...qos2.refused]).toEqual([[0x80, 20]]);
    const v3 = await connect('pub-v3', 4);
    let v3Answers = 0;
    for (let i = 0; i < 20; i++) v3.publish('plant/c', 'x', { qos: 1 }, () => v3Answers++);
    // A later v5 refusal: by then the v3 publishes were handled too (checked at the end: none acknowledged).
    await publishAll(v5, 'plant/a', 1, { qos: 1 });
    const errors = lines.slice(before).filter((l) => l.level >= 50);
    expect(errors).toHaveLength(1);
    expect(errors[0]!.msg).toMatch(/writing MQTT sessions failed/);

    // The disk takes writes again: acknowledged again, and the end of the spell is said once.
    await store.db.exec('DROP TRIGGER refuse_messages');
    expect((await publishAll(v5, 'plant/a', 10, { qos: 1 })).ok).toBe(10);
    expect(lines.some((l) => /writing MQTT sessions works again/.test(l.msg))).toBe(true);
    // A connection's acks leave in order: this one comes after whatever the 20 refused ones got.
    await v3.publishAsync('plant/c', 'after', { qos: 1 });
    expect(v3Answers).toBe(0);
  });

  it('a failed retained write is refused with 0x80', async () => {
    const { store, connect } = await setup();
    const v5 = await connect('pub-retained', 5);
    expect((await publishAll(v5, 'state/a', 5, { qos: 1, retain: true })).ok).toBe(5);
    await store.db.exec(
      "CREATE TRIGGER refuse_retained BEFORE UPDATE ON retained BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END",
    );
    const refused = await publishAll(v5, 'state/a', 5, { qos: 1, retain: true });
    expect(refused.ok).toBe(0);
    expect([...refused.refused]).toEqual([[0x80, 5]]);
  });

  it('an outbox at its drop-newest bound refuses with 0x97; what it took is acknowledged', async () => {
    const { store, server, log, connect } = await setup();
    const manager = new BridgeManager({
      bridges: [
        parseBridgeConfig({
          name: 'plant',
          url: `mqtt://127.0.0.1:${await freePort()}`, // the upstream is down: everything waits
          out: [{ filter: 'up/#', qos: 1 }],
          outbox: { maxMessages: 50, dropPolicy: 'drop-newest' },
          statusIntervalSec: 0,
        }),
      ],
      gatewayId: 'edge-ack',
      broker: server.broker,
      log,
      dataDir: store.dir,
    });
    await manager.start();
    cleanup.push(() => manager.stop());
    const v5 = await connect('pub-bridged', 5);
    const first = await publishAll(v5, 'up/a', 80, { qos: 1 });
    expect(first.ok).toBe(50);
    expect([...first.refused]).toEqual([[0x97, 30]]);
    const qos2 = await publishAll(v5, 'up/b', 5, { qos: 2 });
    expect([...qos2.refused]).toEqual([[0x97, 5]]);
    await waitFor(() => manager.status()[0]!.outbox.messages === 50, 5000, 'the outbox to hold 50');
    expect(manager.status()[0]!.droppedBy['max-messages']).toBe(35);
  });
});
