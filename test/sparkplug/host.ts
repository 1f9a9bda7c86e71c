// A Sparkplug host application for the tests, on an independent decoder: Eclipse Tahu's JavaScript
// payload package (sparkplug-payload) reads everything the gateway sends, and encodes the
// commands and STATE the host sends.
import { createRequire } from 'node:module';
import mqtt, { type MqttClient } from 'mqtt';
import { waitFor } from '../helpers/net.js';

interface TahuMetric {
  name?: string;
  alias?: unknown;
  timestamp?: unknown;
  type: string;
  value: unknown;
  isHistorical?: boolean;
  properties?: Record<string, { type: string; value: unknown }>;
}
interface TahuPayload {
  timestamp?: unknown;
  seq?: unknown;
  metrics?: TahuMetric[];
}
interface Tahu {
  encodePayload(payload: Record<string, unknown>): Uint8Array;
  decodePayload(bytes: Uint8Array): TahuPayload;
}

const tahu = (createRequire(import.meta.url)('sparkplug-payload') as { get(ns: string): Tahu }).get(
  'spBv1.0',
);

/** Longs from Tahu (protobufjs 6 Long objects) or numbers, as numbers. */
export function num(value: unknown): number {
  if (typeof value === 'number') return value;
  if (typeof value === 'bigint') return Number(value);
  if (value && typeof value === 'object' && 'low' in value && 'high' in value) {
    const v = value as { low: number; high: number; unsigned?: boolean };
    return (v.high >>> 0) * 2 ** 32 + (v.low >>> 0);
  }
  return Number(value);
}

export interface SpMessage {
  kind: string;
  node: string;
  device?: string;
  seq?: number;
  payload: TahuPayload;
  metrics: TahuMetric[];
  at: number;
}

export class Host {
  readonly messages: SpMessage[] = [];

  private constructor(
    readonly client: MqttClient,
    readonly group: string,
    readonly hostId: string,
  ) {}

  static async connect(port: number, group: string, hostId = 'scada'): Promise<Host> {
    const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, {
      clientId: `host-${Math.random().toString(16).slice(2)}`,
      protocolVersion: 5,
      reconnectPeriod: 200,
    });
    const host = new Host(client, group, hostId);
    client.on('message', (topic, payload) => {
      const levels = topic.split('/');
      if (levels[0] !== 'spBv1.0' || levels[1] !== group) return;
      const decoded = tahu.decodePayload(payload);
      const message: SpMessage = {
        kind: levels[2]!,
        node: levels[3]!,
        payload: decoded,
        metrics: decoded.metrics ?? [],
        at: Date.now(),
      };
      if (levels[4] !== undefined) message.device = levels[4];
      if (decoded.seq !== undefined && decoded.seq !== null) message.seq = num(decoded.seq);
      host.messages.push(message);
    });
    await client.subscribeAsync(`spBv1.0/${group}/#`, { qos: 1 });
    return host;
  }

  /** Sparkplug 3.0 STATE, retained, QoS 1. */
  async setState(online: boolean): Promise<void> {
    await this.client.publishAsync(
      `spBv1.0/STATE/${this.hostId}`,
      JSON.stringify({ online, timestamp: Date.now() }),
      { qos: 1, retain: true },
    );
  }

  async rebirth(node: string): Promise<void> {
    const payload = tahu.encodePayload({
      timestamp: Date.now(),
      metrics: [{ name: 'Node Control/Rebirth', type: 'Boolean', value: true }],
    });
    await this.client.publishAsync(`spBv1.0/${this.group}/NCMD/${node}`, Buffer.from(payload), { qos: 0 });
  }

  async deviceCommand(
    node: string,
    device: string,
    metric: { name?: string; alias?: number; type: string; value: unknown },
  ): Promise<void> {
    const payload = tahu.encodePayload({ timestamp: Date.now(), metrics: [metric] });
    await this.client.publishAsync(`spBv1.0/${this.group}/DCMD/${node}/${device}`, Buffer.from(payload), {
      qos: 0,
    });
  }

  private markers = 0;

  /**
   * A round trip through the broker: whatever was routed to this host before (an edge node's
   * publishes are routed as they are made) has arrived once this returns. For "nothing came" checks.
   */
  async roundTrip(): Promise<void> {
    const topic = `test-marker/${this.client.options.clientId}/${++this.markers}`;
    let seen = false;
    const onMessage = (t: string) => {
      if (t === topic) seen = true;
    };
    this.client.on('message', onMessage);
    try {
      await this.client.subscribeAsync(topic, { qos: 1 });
      await this.client.publishAsync(topic, 'marker', { qos: 1 });
      await waitFor(() => seen, 10_000, 'the marker back');
      await this.client.unsubscribeAsync(topic);
    } finally {
      this.client.off('message', onMessage);
    }
  }

  of(kind: string, device?: string): SpMessage[] {
    return this.messages.filter((m) => m.kind === kind && (device === undefined || m.device === device));
  }

  async waitFor(kind: string, count = 1, device?: string, timeoutMs = 15_000): Promise<SpMessage[]> {
    return waitFor(
      () => (this.of(kind, device).length >= count ? this.of(kind, device) : undefined),
      timeoutMs,
      `${count} ${kind}`,
    );
  }

  /**
   * The session rules over everything received from `from` on: births before data, every DDATA
   * alias born in the latest DBIRTH, seq continuous (mod 256) from each NBIRTH's 0.
   */
  check(from = 0): void {
    let expected: number | undefined;
    let nodeBorn = false;
    const aliases = new Map<string, Set<number>>();
    for (const m of this.messages.slice(from)) {
      if (m.kind === 'NDEATH') {
        nodeBorn = false;
        expected = undefined;
        continue;
      }
      if (m.kind === 'NBIRTH') {
        if (m.seq !== 0) throw new Error(`NBIRTH seq ${m.seq}, not 0`);
        nodeBorn = true;
        expected = 1;
        aliases.clear();
        continue;
      }
      if (!['DBIRTH', 'DDATA', 'DDEATH'].includes(m.kind)) continue;
      if (!nodeBorn) throw new Error(`${m.kind} before NBIRTH`);
      if (m.seq !== expected) throw new Error(`${m.kind} seq ${m.seq}, expected ${expected}`);
      expected = (expected! + 1) % 256;
      if (m.kind === 'DBIRTH') aliases.set(m.device!, new Set(m.metrics.map((x) => num(x.alias))));
      if (m.kind === 'DDEATH') aliases.delete(m.device!);
      if (m.kind === 'DDATA') {
        const born = aliases.get(m.device!);
        if (!born) throw new Error(`DDATA for ${m.device} without its DBIRTH`);
        for (const x of m.metrics)
          if (!born.has(num(x.alias))) throw new Error(`DDATA alias ${num(x.alias)} was never born`);
      }
    }
  }

  /** bdSeq of a NBIRTH or NDEATH. */
  static bdSeq(m: SpMessage): number {
    const metric = m.metrics.find((x) => x.name === 'bdSeq');
    if (!metric) throw new Error(`${m.kind} without bdSeq`);
    return num(metric.value);
  }

  async close(): Promise<void> {
    await this.client.endAsync(true);
  }
}
