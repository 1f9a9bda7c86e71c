// /metrics: the gateway in Prometheus text format. Counters the gateway already keeps (broker
// stats, driver status, bridge status) are read at scrape time, so the hot paths pay nothing;
// round trips and commands are observed as they happen into histograms.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { ConnectionState } from '../../drivers/types.js';
import type { BridgeStatus } from '../bridge/status.js';
import type { AuditOutcome } from '../mapping/audit.js';
import type { DeviceInfo, HttpBroker } from './context.js';

export interface MetricsSource {
  broker(): Pick<HttpBroker, 'stats'> | undefined;
  devices(): DeviceInfo[];
  bridges(): BridgeStatus[];
  sampleCounts(): ReadonlyMap<string, number>;
}

const QOS = ['0', '1', '2'] as const;
const STATES: readonly ConnectionState[] = ['connecting', 'connected', 'disconnected', 'stopped'];
const RTT_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];
const COMMAND_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export class GatewayMetrics {
  readonly registry = new Registry();
  private readonly roundTrip: Histogram<'device'>;
  private readonly commands: Counter<'device' | 'outcome'>;
  private readonly commandDuration: Histogram<'device'>;

  constructor(source: MetricsSource) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry });
    const stats = () => source.broker()?.stats();

    const gauge = (name: string, help: string, read: () => number | undefined): void => {
      new Gauge({
        name,
        help,
        registers,
        collect() {
          const value = read();
          if (value !== undefined) this.set(value);
        },
      });
    };
    const counter = (name: string, help: string, read: () => number | undefined): void => {
      new Counter({
        name,
        help,
        registers,
        collect() {
          const value = read();
          this.reset();
          if (value !== undefined) this.inc(value);
        },
      });
    };
    gauge('tagwire_broker_connections', 'MQTT connections open', () => stats()?.connections);
    gauge(
      'tagwire_broker_sessions',
      'MQTT sessions (connected and persistent offline)',
      () => stats()?.sessions,
    );
    gauge('tagwire_broker_retained_messages', 'Retained messages held', () => stats()?.retained);
    counter(
      'tagwire_broker_bytes_received_total',
      'Bytes read from MQTT clients',
      () => stats()?.bytesReceived,
    );
    counter('tagwire_broker_bytes_sent_total', 'Bytes written to MQTT clients', () => stats()?.bytesSent);
    counter(
      'tagwire_broker_messages_dropped_total',
      'Messages dropped (full queues, expiry)',
      () => stats()?.messagesDropped,
    );
    counter(
      'tagwire_broker_connections_refused_total',
      'Connections refused',
      () => stats()?.connectionsRefused,
    );
    for (const [name, help, key] of [
      [
        'tagwire_broker_messages_received_total',
        'Messages published into the broker, by QoS',
        'receivedByQos',
      ],
      ['tagwire_broker_messages_sent_total', 'Messages sent to MQTT clients, by QoS', 'sentByQos'],
    ] as const) {
      new Counter({
        name,
        help,
        labelNames: ['qos'],
        registers,
        collect() {
          const s = stats();
          this.reset();
          if (s) for (const q of QOS) this.inc({ qos: q }, s[key][Number(q)]!);
        },
      });
    }

    const perDevice = seriesPer(registers, 'device', () => source.devices(), 'deviceId');
    perDevice('tagwire_device_connected', '1 when the device is connected', 'gauge', (d) =>
      d.state === 'connected' ? 1 : 0,
    );
    new Gauge({
      name: 'tagwire_device_state',
      help: 'The device connection state: 1 for the current state, 0 for the others',
      labelNames: ['device', 'state'],
      registers,
      collect() {
        this.reset();
        for (const d of source.devices()) {
          for (const state of STATES) this.set({ device: d.deviceId, state }, d.state === state ? 1 : 0);
        }
      },
    });
    perDevice('tagwire_device_requests_total', 'Requests sent to the device', 'counter', (d) => d.requests);
    perDevice('tagwire_device_errors_total', 'Requests that failed', 'counter', (d) => d.errors);
    perDevice('tagwire_device_timeouts_total', 'Requests that timed out', 'counter', (d) => d.timeouts);
    perDevice(
      'tagwire_device_overruns_total',
      'Scans longer than their period, or subscription rebuilds',
      'counter',
      (d) => d.overruns ?? 0,
    );
    new Counter({
      name: 'tagwire_device_samples_total',
      help: 'Tag samples received from the device (rate() gives samples/s)',
      labelNames: ['device'],
      registers,
      collect() {
        this.reset();
        for (const [device, count] of source.sampleCounts()) this.inc({ device }, count);
      },
    });
    this.roundTrip = new Histogram({
      name: 'tagwire_device_round_trip_seconds',
      help: 'Round trip of answered device requests',
      labelNames: ['device'],
      buckets: RTT_BUCKETS,
      registers,
    });
    this.commands = new Counter({
      name: 'tagwire_commands_total',
      help: 'Commands by device and outcome (ok, refused, failed, unknown)',
      labelNames: ['device', 'outcome'],
      registers,
    });
    this.commandDuration = new Histogram({
      name: 'tagwire_command_duration_seconds',
      help: 'Time from a command to its result',
      labelNames: ['device'],
      buckets: COMMAND_BUCKETS,
      registers,
    });

    const perBridge = seriesPer(registers, 'bridge', () => source.bridges(), 'name');
    perBridge('tagwire_bridge_connected', '1 when the upstream is connected', 'gauge', (b) =>
      b.connected ? 1 : 0,
    );
    perBridge(
      'tagwire_bridge_outbox_messages',
      'Messages waiting in the outbox',
      'gauge',
      (b) => b.outbox.messages,
    );
    perBridge('tagwire_bridge_outbox_bytes', 'Bytes waiting in the outbox', 'gauge', (b) => b.outbox.bytes);
    perBridge(
      'tagwire_bridge_outbox_oldest_age_seconds',
      'Age of the oldest waiting message (0 when empty)',
      'gauge',
      (b) => b.outbox.oldestAgeSec ?? 0,
    );
    perBridge('tagwire_bridge_sent_total', 'Messages acknowledged by the upstream', 'counter', (b) => b.sent);
    perBridge('tagwire_bridge_dropped_total', 'Messages dropped by the bridge', 'counter', (b) => b.dropped);
  }

  observeRoundTrip(device: string, rttMs: number): void {
    this.roundTrip.observe({ device }, rttMs / 1000);
  }

  observeCommand(device: string, outcome: AuditOutcome, durationMs: number): void {
    this.commands.inc({ device, outcome });
    this.commandDuration.observe({ device }, durationMs / 1000);
  }

  text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}

/**
 * A maker of gauges and counters with one series per item (a device, a bridge), refilled from
 * `items` at each scrape; `read` giving undefined leaves an item out.
 */
function seriesPer<T extends Record<K, string>, K extends keyof T>(
  registers: Registry[],
  label: string,
  items: () => readonly T[],
  /** The field of an item that is its label value. */
  key: K,
): (name: string, help: string, kind: 'gauge' | 'counter', read: (item: T) => number | undefined) => void {
  return (name, help, kind, read) => {
    const options = { name, help, labelNames: [label], registers };
    const fill = (metric: Gauge | Counter): void => {
      metric.reset();
      for (const item of items()) {
        const value = read(item);
        if (value === undefined) continue;
        if (metric instanceof Gauge) metric.set({ [label]: item[key] }, value);
        else metric.inc({ [label]: item[key] }, value);
      }
    };
    if (kind === 'gauge')
      new Gauge({
        ...options,
        collect() {
          fill(this);
        },
      });
    else
      new Counter({
        ...options,
        collect() {
          fill(this);
        },
      });
  };
}
