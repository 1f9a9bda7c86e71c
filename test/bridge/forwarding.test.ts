// Forwarding through the real Broker and BridgeManager to a real Mosquitto: every rule option,
// `in` rules with the ACL, loop protection, the retained status topic and $SYS.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { DeliveredMessage } from '../../src/broker/api.js';
import { startMosquitto, type MosquittoBroker } from '../helpers/mosquitto.js';
import { freePort, waitFor } from '../helpers/net.js';
import { exited, startGateway } from './helpers/child.js';
import { collect, startLocal, waitForInRule, type Collector, type LocalGateway } from './helpers/local.js';

describe('bridge forwarding', () => {
  let upstream: MosquittoBroker;
  let gateway: LocalGateway | undefined;
  let collector: Collector | undefined;

  beforeEach(async () => {
    upstream = await startMosquitto();
  });
  afterEach(async () => {
    await collector?.close();
    await gateway?.stop();
    await upstream.stop();
    collector = gateway = undefined;
  });

  const url = () => `mqtt://127.0.0.1:${upstream.port}`;
  const publish = (topic: string, payload: string, retain = false) =>
    gateway!.broker.publish({ topic, payload: Buffer.from(payload), qos: 1, retain });

  it('applies prefix, stripPrefix, QoS and retain of each out rule, once per message', async () => {
    collector = await collect(upstream.port, ['#']);
    gateway = await startLocal([
      {
        name: 'plant',
        url: url(),
        out: [
          { filter: 'acme/line1/#', qos: 1, stripPrefix: 'acme/', prefix: 'sites/edge-test/' },
          { filter: 'acme/#', qos: 2, retain: false },
          { filter: 'fast/#', qos: 0, store: false },
        ],
      },
    ]);
    await waitFor(() => gateway!.manager.status()[0]!.connected, 10_000, 'the bridge to connect');
    publish('acme/line1/press/temp', '21.5', true);
    publish('acme/line2/oven/temp', '180', true);
    publish('fast/tick', '1');
    publish('other/topic', 'not bridged');
    // A marker last, through the outbox like the others: once it is upstream, any extra copy of
    // the messages before it is too (the outbox sends in order; QoS 0 may only overtake).
    publish('acme/line2/marker', 'last');
    await waitFor(
      () => collector!.messages.some((m) => m.topic === 'acme/line2/marker'),
      10_000,
      'the marker',
    );
    const got = collector.messages.filter(
      (m) => !m.topic.startsWith('tagwire/') && m.topic !== 'acme/line2/marker',
    );
    // Order holds per topic only (the QoS 0 rule skips the outbox and may overtake), so sort.
    // A retained message reaches a live subscriber without the flag (MQTT 3.1.1 rule): retain is checked below.
    expect(got.map((m) => [m.topic, m.payload, m.qos]).sort()).toEqual([
      ['acme/line2/oven/temp', '180', 1], // the subscriber asked QoS 1: downgraded from 2
      ['fast/tick', '1', 0],
      ['sites/edge-test/line1/press/temp', '21.5', 1],
    ]);
    const late = await collect(upstream.port, ['sites/#', 'acme/#']);
    try {
      // Mosquitto sends the retained messages on SUBSCRIBE, before it reads this later marker.
      await late.client.publishAsync('sites/marker', 'last', { qos: 1 });
      await waitFor(() => late.messages.some((m) => m.topic === 'sites/marker'), 10_000, 'the marker');
      late.messages.splice(
        late.messages.findIndex((m) => m.topic === 'sites/marker'),
        1,
      );
      // retain kept by the first rule; the second rule (retain: false) sent it plain.
      expect(late.messages.map((m) => [m.topic, m.retain])).toEqual([
        ['sites/edge-test/line1/press/temp', true],
      ]);
    } finally {
      await late.close();
    }
    // The three and the marker. A QoS 2 exchange completes (PUBCOMP) after the subscriber has the
    // message, and Mosquitto (no TCP_NODELAY) may hold a PUBCOMP for our delayed ACK: wait for it.
    await waitFor(() => gateway!.manager.status()[0]!.sent >= 4, 5000, 'every exchange to complete');
    expect(gateway.manager.status()[0]!).toMatchObject({ connected: true, sent: 4, dropped: 0 });
    await waitFor(() => gateway!.manager.status()[0]!.outbox.messages === 0, 5000, 'the outbox to empty');
  });

  it('publishes the retained status topic: online on connect, offline on a clean stop', async () => {
    gateway = await startLocal([{ name: 'plant', url: url(), out: [{ filter: 'a/#' }] }]);
    collector = await collect(upstream.port, ['tagwire/edge-test/status']);
    await waitFor(() => collector!.messages.some((m) => m.payload === 'online'), 10_000, 'online');
    // A clean stop says offline itself.
    await gateway.stop();
    gateway = undefined;
    await waitFor(() => collector!.messages.some((m) => m.payload === 'offline'), 10_000, 'offline');
  });

  it('leaves offline as the will when the gateway dies without a word', async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'tagwire-will-'));
    const child = startGateway(dataDir, upstream.port, 'drain');
    try {
      collector = await collect(upstream.port, ['tagwire/edge-kill/status']);
      await waitFor(
        () => collector!.messages.at(-1)?.payload === 'online',
        30_000,
        `online (gateway stderr: ${child.stderr()})`,
      );
      // SIGKILL: no code of the gateway runs, the kernel closes its socket without a DISCONNECT,
      // so only Mosquitto, publishing the will, can say offline.
      child.child.kill('SIGKILL');
      await exited(child.child);
      await waitFor(
        () => collector!.messages.at(-1)?.payload === 'offline',
        10_000,
        'offline through the will',
      );
      // The will is retained: a subscriber arriving later still learns the gateway is gone.
      const late = await collect(upstream.port, ['tagwire/edge-kill/status']);
      try {
        await waitFor(() => late.messages.length > 0, 10_000, 'the retained status');
        expect(late.messages[0]).toMatchObject({ payload: 'offline', retain: true });
      } finally {
        await late.close();
      }
    } finally {
      child.child.kill('SIGKILL');
      await exited(child.child);
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('brings `in` topics into the local broker as the bridge user, through the ACL, without looping back', async () => {
    gateway = await startLocal(
      [
        {
          name: 'plant',
          url: url(),
          protocolVersion: 5,
          localUser: 'plant-bridge',
          in: [{ filter: 'sites/edge-test/#', stripPrefix: 'sites/edge-test/' }],
          out: [{ filter: 'acme/#', prefix: 'sites/edge-test/' }],
        },
      ],
      { broker: { acl: [{ user: 'plant-bridge', publish: ['acme/+/+/set'], subscribe: [] }] } },
    );
    const local: DeliveredMessage[] = [];
    gateway.broker.subscribe('#', (m) => local.push(m));
    await waitFor(() => gateway!.manager.status()[0]!.connected, 10_000, 'the bridge to connect');
    const probes = await waitForInRule(
      upstream.port,
      gateway.broker,
      'sites/edge-test/acme/probe/x/set',
      'acme/probe/x/set',
    );
    collector = await collect(upstream.port, ['sites/#'], { protocolVersion: 5 });
    const remote = collector.client;
    await remote.publishAsync('sites/edge-test/acme/press/setpoint/set', '42', {
      qos: 1,
      properties: { responseTopic: 'sites/edge-test/acme/replies/r1', correlationData: Buffer.from('c1') },
    });
    await remote.publishAsync('sites/edge-test/acme/press/forbidden', 'x', { qos: 1 });
    await remote.publishAsync('sites/edge-test/', 'empty', { qos: 1 }); // refused by the ACL
    await waitFor(
      () => local.some((m) => m.topic === 'acme/press/setpoint/set'),
      10_000,
      'the command locally',
    );
    await waitFor(() => gateway!.manager.status()[0]!.rejected === 2, 10_000, 'the two refusals');
    const cmd = local.find((m) => m.topic === 'acme/press/setpoint/set')!;
    expect(cmd.origin).toEqual({ kind: 'bridge', bridge: 'plant', username: 'plant-bridge' });
    expect(cmd.properties?.responseTopic).toBe('acme/replies/r1');
    expect(cmd.properties?.correlationData).toEqual(Buffer.from('c1'));
    expect(local.some((m) => m.topic === 'acme/press/forbidden')).toBe(false);

    // The reply published locally on the response topic goes back up the out rule.
    gateway.broker.publish(
      {
        topic: cmd.properties!.responseTopic!,
        payload: Buffer.from('{"ok":true}'),
        qos: 1,
        retain: false,
        properties: { correlationData: cmd.properties!.correlationData! },
      },
      { kind: 'internal', component: 'test' },
    );
    await waitFor(
      () => collector!.messages.some((m) => m.topic === 'sites/edge-test/acme/replies/r1'),
      10_000,
      'the reply upstream',
    );
    // The command came in through the bridge and matches the out rule: it must not go back out.
    // Had it, it would be upstream before the reply, which went the same way after it.
    expect(
      collector.messages.filter((m) => m.topic === 'sites/edge-test/acme/press/setpoint/set'),
    ).toHaveLength(1);
    expect(gateway.manager.status()[0]).toMatchObject({ received: 1 + probes(), rejected: 2 });
  });

  it('refuses an incoming message whose rewritten topic is not publishable, and keeps going', async () => {
    gateway = await startLocal([
      { name: 'plant', url: url(), in: [{ filter: 'cmd/#', stripPrefix: 'cmd/' }] },
    ]);
    const local: string[] = [];
    gateway.broker.subscribe('#', (m) => local.push(m.topic));
    await waitFor(() => gateway!.manager.status()[0]!.connected, 10_000, 'the bridge to connect');
    const probes = await waitForInRule(upstream.port, gateway.broker, 'cmd/probe', 'probe');
    collector = await collect(upstream.port, ['nothing']);
    // No ACL rules here: the empty topic left by stripPrefix reaches the broker, which refuses it.
    await collector.client.publishAsync('cmd/', 'x', { qos: 1 });
    await collector.client.publishAsync('cmd/a/b', 'y', { qos: 1 });
    await waitFor(() => local.includes('a/b'), 10_000, 'the valid message');
    expect(gateway.manager.status()[0]).toMatchObject({
      received: 1 + probes(),
      rejected: 1,
      connected: true,
    });
  });

  it('runs several bridges side by side: one upstream down does not hold back the other', async () => {
    const down = await freePort();
    gateway = await startLocal([
      { name: 'up', url: url(), out: [{ filter: 'multi/#', prefix: 'up/' }] },
      { name: 'down', url: `mqtt://127.0.0.1:${down}`, out: [{ filter: 'multi/#' }] },
    ]);
    collector = await collect(upstream.port, ['up/#']);
    await waitFor(() => gateway!.manager.status()[0]!.connected, 10_000, 'the first bridge to connect');
    for (let i = 0; i < 20; i++) publish('multi/x', String(i));
    await waitFor(() => collector!.messages.length === 20, 10_000, 'the first bridge forwarding');
    await waitFor(
      () => gateway!.manager.status()[1]!.outbox.messages === 20,
      10_000,
      'the second bridge buffering',
    );
    const [up, dead] = gateway.manager.status();
    expect(up).toMatchObject({ name: 'up', connected: true, sent: 20 });
    expect(dead).toMatchObject({ name: 'down', connected: false, sent: 0 });
    expect(dead!.lastError?.kind).toBe('refused');
  });

  it('publishes its status on $SYS/broker/bridges/<name>/', async () => {
    gateway = await startLocal([
      { name: 'plant', url: url(), statusIntervalSec: 1, out: [{ filter: 'a/#' }] },
    ]);
    const sys = new Map<string, string>();
    gateway.broker.subscribe('$SYS/broker/bridges/plant/#', (m) => sys.set(m.topic, m.payload.toString()));
    await waitFor(() => sys.get('$SYS/broker/bridges/plant/connected') === '1', 10_000, '$SYS connected');
    gateway.broker.publish({ topic: 'a/b', payload: Buffer.from('x'), qos: 1, retain: false });
    await waitFor(
      () => sys.get('$SYS/broker/bridges/plant/messages/sent') === '1',
      10_000,
      '$SYS sent count',
    );
    expect(sys.get('$SYS/broker/bridges/plant/outbox/messages')).toBe('0');
    expect(sys.has('$SYS/broker/bridges/plant/drain_rate')).toBe(true);
  });
});
