// The contract between the gateway core and a protocol driver. A driver knows nothing of MQTT:
// it turns a device into batches of TagSamples, and commands into writes confirmed by a read-back.

/** The quality of a sample, as it appears in payloads. */
export type Quality = 'good' | 'uncertain' | 'bad';

/** A JSON value: what a tag value may become in a payload. 64-bit integers beyond 2^53 are strings. */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/** A decoded tag value. Arrays for `count` tags, objects for OPC UA structures. */
export type TagValue = Exclude<JsonValue, null>;

interface SampleBase {
  /** Tag name, unique within its device. */
  tag: string;
  /** Source time, epoch milliseconds. */
  ts: number;
}

/** One reading of one tag. A bad sample may carry no value; uncertain and bad always say why. */
export type TagSample =
  | (SampleBase & { quality: 'good'; value: TagValue })
  | (SampleBase & { quality: 'uncertain'; value: TagValue; reason: string })
  | (SampleBase & { quality: 'bad'; value: TagValue | null; reason: string });

export type ConnectionState = 'connecting' | 'connected' | 'disconnected' | 'stopped';

/** Device health, for the status API, $SYS and the device-connected command check. */
export interface DeviceStatus {
  deviceId: string;
  state: ConnectionState;
  lastError?: string;
  /** Epoch ms of the last state change. */
  since: number;
  requests: number;
  errors: number;
  timeouts: number;
  /** Round-trip times of recent requests, milliseconds. */
  rttMsAvg?: number;
  rttMsMax?: number;
  /** Scans that took longer than their period (Modbus), or subscription rebuilds (OPC UA). */
  overruns?: number;
  /** Driver-specific counters (garbage frames, CRC errors, rebuilt subscriptions...). */
  counters?: Record<string, number>;
}

/**
 * The outcome of a write: the value read back from the device, or why it failed. A failure without
 * `outcome` was answered by the device (an exception, a bad status, a read-back that differs).
 */
export type WriteResult =
  { ok: true; sample: TagSample } | { ok: false; error: string; outcome?: WriteFailure };

/**
 * `refused`: nothing was sent (the value cannot be encoded for the device, the device is not
 * connected); `unknown`: the request went out and no answer came back (a timeout, a connection
 * lost in flight), so the device may have applied the value, or may still apply it.
 */
export type WriteFailure = 'refused' | 'unknown';

/** The wording every driver uses for a write whose outcome is unknown. */
export const OUTCOME_UNKNOWN = 'outcome unknown: the device may still apply it';

/** What the gateway hands a driver: where its samples and status go, and a logger. */
export interface DriverContext {
  onSamples(batch: TagSample[]): void;
  onStatus(status: DeviceStatus): void;
  log: DriverLogger;
  /** The gateway's data directory (PKI folders, driver state). */
  dataDir: string;
  /** Each answered device request's round trip, milliseconds (the /metrics histogram). */
  onRoundTrip?(rttMs: number): void;
}

/** The subset of pino's logger a driver uses; keeps drivers free of a logging dependency. */
export interface DriverLogger {
  debug(obj: object | string, msg?: string): void;
  info(obj: object | string, msg?: string): void;
  warn(obj: object | string, msg?: string): void;
  error(obj: object | string, msg?: string): void;
  child(bindings: Record<string, unknown>): DriverLogger;
  /** The level it logs at (pino's names), for a logger a driver starts elsewhere (a worker thread). */
  readonly level?: string;
}

/**
 * A connected device. `start` returns once the driver runs, whether or not the device answers:
 * a dead device is retried in the background and never blocks start-up or other devices.
 */
export interface Driver {
  readonly deviceId: string;
  start(): Promise<void>;
  /** Stops polling, closes the connection; resolves when nothing is left running. */
  stop(): Promise<void>;
  /** A fresh read of the named tags, bypassing the poll schedule (`/get` commands, read-backs). */
  read(tags: readonly string[]): Promise<TagSample[]>;
  /**
   * Writes an engineering value (the driver applies the inverse of its scaling and checks the raw
   * range), then reads the tag back. Resolves, never rejects, for device-side failures.
   */
  write(tag: string, value: TagValue): Promise<WriteResult>;
  status(): DeviceStatus;
}

/**
 * A tag as a driver sees it: the mapping file's tag after defaults, with its device-specific
 * address still a string the driver parses (`hr:100`, `ns=2;s=Oven.Temperature`). Keys the driver
 * does not use (topic, deadband, qos...) are ignored by it.
 */
export interface TagConfig {
  name: string;
  address: string;
  type: string;
  pollMs: number;
  writable: boolean;
  scale?: number;
  offset?: number;
  byteOrder?: string;
  /** Registers of a string tag. */
  length?: number;
  /** Elements of an array tag. */
  count?: number;
  min?: number;
  max?: number;
  unit?: string;
  /** Driver-specific keys (OPC UA sampling interval, string encoding...). */
  [key: string]: unknown;
}

/** Keys every device has, whatever its driver (the common device schema, defaults applied). */
export interface DeviceBase {
  id: string;
  /** The `name` of the DriverModule that serves the device. */
  driver: string;
  enabled: boolean;
  description?: string;
  /** Topic template variables of the device. */
  vars: Record<string, string>;
}

/** A problem a driver finds in a tag beyond what its schema can say (address/type mismatch...). */
export interface TagProblem {
  /** JSON pointer below the tag, e.g. `/address`; empty for the tag as a whole. */
  pointer: string;
  message: string;
}

/** A JSON Schema document with its `$id` (tagwire://<driver>/device...). */
export interface SchemaDocument {
  $id: string;
  [keyword: string]: unknown;
}

/** A simulator a driver module started; `address` is where clients reach it. */
export interface RunningSimulator {
  /** `modbus-tcp://127.0.0.1:5020`, `opc.tcp://127.0.0.1:4840`. */
  address: string;
  close(): Promise<void>;
}

/**
 * What each driver folder exports from its index.ts, and the one thing the gateway knows of a
 * driver: the registry (drivers/index.ts `builtinDrivers`, or the list given to `loadConfig`) is a
 * list of these. Config validation, driver creation, `tagwire validate` and the simulators all
 * iterate over it; nothing else names a driver.
 *
 * The methods take the device and simulator blocks after their schemas' defaults. Method syntax on
 * purpose: a module typed for its own device config fits a plain `DriverModule[]`.
 */
export interface DriverModule<Device = unknown, Simulator = unknown> {
  /** The `driver` value in the config: 'modbus', 'opcua'. */
  name: string;
  /** Human name for messages ("Modbus", "OPC UA"). */
  title: string;
  schemas: {
    /** The driver's device keys, composed beside the common ones (unknown keys are errors). */
    device: SchemaDocument;
    /** The driver's tag keys, composed beside the common tag keys of a mapping file. */
    tag: SchemaDocument;
    /** One entry of `simulators.<name>` in gateway.config.json; absent: the driver has no simulator. */
    simulator?: SchemaDocument;
  };
  create(device: Device, tags: readonly TagConfig[], ctx: DriverContext): Driver;
  /** Semantic checks of one tag against its device, run by `tagwire validate` and at load. */
  checkTag(tag: TagConfig, device: Device): TagProblem[];
  /** Starts one simulator of `simulators.<name>` (load heavy code lazily here). */
  startSimulator?(config: Simulator, log: DriverLogger): Promise<RunningSimulator>;
  /**
   * `tagwire doctor`'s check of one enabled device: is it reachable and usable as configured, and
   * what fixes it if not. Bounded in time, closes what it opens (load heavy code lazily here).
   * Absent: the doctor does not check the driver's devices.
   */
  probe?(device: Device, context: ProbeContext): Promise<Finding[]>;
}

/** How a doctor check went. */
export type Status = 'ok' | 'warn' | 'fail';

/** One finding of `tagwire doctor`: what was checked, how it went, and what to do about it. */
export interface Finding {
  status: Status;
  /** What was checked: "config", "port 1883", "modbus press1"... */
  subject: string;
  message: string;
  /** The action that fixes a warn or a fail. */
  fix?: string;
}

/** What a probe gets beside its device. */
export interface ProbeContext {
  /** The tags mapped to the device, in mapping order. */
  tags: readonly TagConfig[];
  /** The gateway's data folder (where PKI folders and the like resolve). */
  dataDir: string;
}
