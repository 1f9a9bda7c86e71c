// What the HTTP side needs from the gateway, as one narrow interface: routes never see the
// Gateway class, and tests or benchmarks can serve a gateway they assembled themselves.
import type { DeviceStatus } from '../../drivers/types.js';
import type { Broker } from '../broker/broker.js';
import type { BridgeStatus } from '../bridge/status.js';
import type { ConfigDiff } from '../config/diff.js';
import type { LoadedConfig } from '../config/load.js';
import type { CommandOutcome } from '../mapping/commands.js';
import type { AuditEntry, AuditFilter } from '../mapping/audit.js';
import type { LatestValues } from './latest-values.js';

export type Readiness = { ready: true } | { ready: false; reason: string };

/** A device's status and the name of its driver (a registry module's `name`). */
export type DeviceInfo = DeviceStatus & { driver: string };

/** The broker operations the API uses. */
export type HttpBroker = Pick<
  Broker,
  'listening' | 'stats' | 'clients' | 'retainedUnder' | 'subscribe' | 'subscribeProblem' | 'authenticator'
>;

export interface HttpGateway {
  readonly id: string;
  /** Epoch ms the gateway started. */
  readonly startedAt: number;
  /** The config running now (after hot reloads). */
  config(): LoadedConfig;
  readiness(): Readiness;
  /** Every running device's status, fresh from its driver. */
  devices(): DeviceInfo[];
  bridges(): BridgeStatus[];
  broker(): HttpBroker;
  readonly latest: LatestValues;
  /** A command on its MQTT command topic, run by the command router; undefined when no such topic. */
  command(
    topic: string,
    payload: Buffer,
    who: { clientId: string; username?: string },
  ): Promise<CommandOutcome> | undefined;
  /** Audit rows, oldest first (as AuditLog.query). */
  audit(filter: AuditFilter): Promise<AuditEntry[]>;
  /** Applies a freshly loaded config (hot reload) and says what changed. */
  reload(next: LoadedConfig): Promise<ConfigDiff>;
}
