// CommandRouter: command topics in, checked device writes and reads out, a result back to the
// sender and a row in the audit log. The checks run in order, each with its own error:
//   the broker's ACL (a denied publish never gets here), the tag exists and is writable, the value
//   matches the tag's schema, a duplicate requestId from the same sender gets its first result,
//   the device is connected (or connects within the command's ttlMs); then, once the earlier
//   commands on the tag are done, the audit row (a command that cannot be audited does not run),
//   the tag's rate limit, the write and read-back, bounded by the tag's commandTimeoutMs. The value
//   read back is published on the tag's topic before the result is.
import type { Driver, TagSample, TagValue } from '../../drivers/types.js';
import type { DeliveredMessage, LocalBroker } from '../broker/api.js';
import type { LoadedMapping } from '../config/types.js';
import type { Logger } from '../log.js';
import type { AuditLog, AuditOutcome, CommandKind } from './audit.js';
import { CommandAuditor } from './command-audit.js';
import {
  CommandIndex,
  commandTag,
  type CommandAddress,
  type CommandDevice,
  type CommandTag,
} from './command-index.js';
import { parseDeviceSet, parseGet, parseSet, type CommandOptions } from './command-payload.js';
import {
  AUDIT_UNAVAILABLE,
  auditIdentity,
  failure,
  outcomeOf,
  publishResult,
  sampleResult,
  withRequestId,
  type CommandProgress,
  type CommandResult,
} from './command-result.js';
import { bounded, CommandWriter } from './command-write.js';
import { RequestCache } from './request-cache.js';
import { TagQueue } from './tag-queue.js';
import { topicMatches } from '../broker/topics/validate.js';

const CONNECT_POLL_MS = 20;

/** A command on one tag: its set or get topic, resolved. */
type TagAddress = Extract<CommandAddress, { kind: 'set' | 'get' }>;

export type { CommandResult } from './command-result.js';

export interface CommandRouterOptions {
  mappings: readonly LoadedMapping[];
  broker: LocalBroker;
  drivers: ReadonlyMap<string, Driver>;
  audit: AuditLog;
  log: Logger;
  /** Publishes samples on their tags' topics at once, whatever the publish policy (read-backs). */
  publishSamples?: (deviceId: string, samples: readonly TagSample[]) => void;
  /** Told every command's outcome (the /metrics command counters and latency histogram). */
  onCommand?(device: string, outcome: AuditOutcome, durationMs: number): void;
}

/** A command's result and how it ended, as the audit log records it. */
export interface CommandOutcome {
  result: CommandResult;
  outcome: AuditOutcome;
}

/** A command refused before it reached the device: it may be sent again. */
class Refusal extends Error {}

/** What one command carries through its run: how far it got, and the gate to the device. */
interface CommandRun extends CommandProgress {
  /** Who sent it, for the requestId de-duplication. */
  sender: string;
  /** Resolves once the command's audit row is stored; throws a Refusal when it cannot be. */
  audited(): Promise<void>;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export class CommandRouter {
  private index: CommandIndex;
  private readonly subscriptions = new Map<string, () => void>();
  private readonly inFlight = new Set<Promise<void>>();
  private readonly done = new RequestCache<CommandResult>();
  private readonly queue = new TagQueue();
  private readonly writer: CommandWriter;
  private readonly auditor: CommandAuditor;
  private running = false;

  constructor(private readonly opts: CommandRouterOptions) {
    this.index = new CommandIndex(opts.mappings);
    this.auditor = new CommandAuditor(opts.audit, opts.log);
    this.writer = new CommandWriter({
      drivers: opts.drivers,
      log: opts.log,
      publish: (deviceId, samples) => opts.publishSamples?.(deviceId, samples),
      running: () => this.running,
    });
  }

  start(): void {
    this.running = true;
    this.syncSubscriptions();
  }

  /** Takes new mappings: subscriptions follow, unchanged tags keep their rate-limit state. */
  update(mappings: readonly LoadedMapping[]): void {
    this.index = new CommandIndex(mappings, this.index);
    if (this.running) this.syncSubscriptions();
  }

  /** Unsubscribes, then waits for the commands already running. */
  async stop(): Promise<void> {
    this.running = false;
    for (const unsubscribe of this.subscriptions.values()) unsubscribe();
    this.subscriptions.clear();
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }

  private syncSubscriptions(): void {
    const wanted = new Set(this.index.filters);
    for (const [filter, unsubscribe] of this.subscriptions) {
      if (wanted.has(filter)) continue;
      unsubscribe();
      this.subscriptions.delete(filter);
    }
    for (const filter of this.index.filters) {
      if (this.subscriptions.has(filter)) continue;
      this.subscriptions.set(
        filter,
        this.opts.broker.subscribe(filter, (msg) => this.onMessage(filter, msg)),
      );
    }
  }

  private onMessage(filter: string, msg: DeliveredMessage): void {
    // Overlapping filters (nested device topics) must not answer one command twice.
    if (this.index.filters.find((f) => topicMatches(f, msg.topic)) !== filter) return;
    const address = this.index.resolve(msg.topic);
    if (!address) return;
    const work = this.handle(address, msg).then(
      () => undefined,
      (err: unknown) => this.opts.log.error({ err, topic: msg.topic }, 'command handling failed'),
    );
    this.inFlight.add(work);
    void work.finally(() => this.inFlight.delete(work));
  }

  /**
   * A command from inside the gateway (the HTTP API), on the command topic it would have over
   * MQTT: the same checks, result message and audit row, recorded as `who`. Resolves with the
   * result and its outcome; undefined when `topic` is no command topic of the current mappings.
   */
  submit(
    topic: string,
    payload: Buffer,
    who: { clientId: string; username?: string },
  ): Promise<CommandOutcome> | undefined {
    const address = this.running ? this.index.resolve(topic) : undefined;
    if (!address) return undefined;
    const origin = { kind: 'internal', component: who.clientId } as const;
    const msg: DeliveredMessage = { topic, payload, qos: 1, retain: false, origin };
    const work = this.handle(address, msg, who);
    const tracked = work.then(
      () => undefined,
      () => undefined,
    );
    this.inFlight.add(tracked);
    void tracked.finally(() => this.inFlight.delete(tracked));
    return work;
  }

  private async handle(
    address: CommandAddress,
    msg: DeliveredMessage,
    identity = auditIdentity(msg.origin),
  ): Promise<CommandOutcome> {
    const receivedAt = Date.now();
    const started = performance.now();
    const tag = address.kind === 'device-set' ? this.deviceTagsOf(msg.payload) : address.tagName;
    // The row is stored while the checks run; the device is reached only once it is.
    const audited = this.auditor.begin({
      ts: receivedAt,
      kind: address.kind satisfies CommandKind,
      ...identity,
      device: address.device.device,
      ...(tag !== undefined ? { tag } : {}),
      topic: msg.topic,
      payload: msg.payload.toString('utf8'),
    });
    const run: CommandRun = {
      sender: identity.clientId,
      reachedDevice: false,
      audited: () =>
        audited.stored.catch(() => {
          throw new Refusal(AUDIT_UNAVAILABLE);
        }),
    };
    let result: CommandResult;
    try {
      result = await this.run(address, msg.payload, run);
    } catch (err) {
      result = failure(`internal error: ${(err as Error).message}`, undefined);
      this.opts.log.error({ err, topic: msg.topic }, 'command failed');
    }
    const durationMs = performance.now() - started;
    const text = JSON.stringify(result);
    publishResult(this.opts.broker, msg, text, this.opts.log);
    const outcome = outcomeOf(result, run);
    this.opts.onCommand?.(address.device.device, outcome, durationMs);
    await audited.finish({ outcome, result: text, durationMs });
    return { result, outcome };
  }

  private deviceTagsOf(payload: Buffer): string | undefined {
    const parsed = parseDeviceSet(payload);
    return parsed.ok ? parsed.command.values.map(([name]) => name).join(',') : undefined;
  }

  private run(address: CommandAddress, payload: Buffer, run: CommandRun): Promise<CommandResult> {
    switch (address.kind) {
      case 'set':
        return this.runSet(address, payload, run);
      case 'get':
        return this.runGet(address, payload, run);
      case 'device-set':
        return this.runDeviceSet(address.device, payload, run);
    }
  }

  /** The tag exists and may be written, and the value fits its schema. */
  private writeCheck(
    device: CommandDevice,
    name: string,
    target: CommandTag | undefined,
    value: unknown,
  ): CommandTag {
    if (!target) throw new Refusal(`unknown tag "${name}" on device "${device.device}"`);
    if (!target.tag.writable || !target.check) throw new Refusal(`tag "${name}" is not writable`);
    const problem = target.check(value);
    if (problem !== undefined) throw new Refusal(problem);
    return target;
  }

  private async runSet(address: TagAddress, payload: Buffer, run: CommandRun): Promise<CommandResult> {
    const { device, tagName: name, target } = address;
    const deadline = Date.now() + (target?.tag.commandTimeoutMs ?? 0);
    if (!target) return failure(`unknown tag "${name}" on device "${device.device}"`, requestIdOf(payload));
    if (!target.tag.writable) return failure(`tag "${name}" is not writable`, requestIdOf(payload));
    const parsed = parseSet(payload);
    if (!parsed.ok) return failure(parsed.error, parsed.requestId);
    const { value, requestId } = parsed.command;
    try {
      this.writeCheck(device, name, target, value);
    } catch (err) {
      if (err instanceof Refusal) return failure(err.message, requestId);
      throw err;
    }
    return this.once(run.sender, `${target.tag.topic}/set`, requestId, async () => {
      const driver = await this.connectedDriver(device.device, parsed.command);
      return this.inTurn([target], deadline, async (hold) => {
        await run.audited();
        this.takeRate([target]);
        return this.writer.write(driver, target, value as TagValue, deadline, hold, run);
      });
    });
  }

  private async runDeviceSet(
    device: CommandDevice,
    payload: Buffer,
    run: CommandRun,
  ): Promise<CommandResult> {
    const parsed = parseDeviceSet(payload);
    if (!parsed.ok) return failure(parsed.error, parsed.requestId);
    const { values, requestId } = parsed.command;
    const targets: Array<[CommandTag, unknown]> = [];
    try {
      for (const [name, value] of values)
        targets.push([this.writeCheck(device, name, commandTag(device, name), value), value]);
    } catch (err) {
      if (err instanceof Refusal) return failure(err.message, requestId);
      throw err;
    }
    const longest = Math.max(...targets.map(([t]) => t.tag.commandTimeoutMs));
    const queueDeadline = Date.now() + longest;
    return this.once(run.sender, `${device.topic}/set`, requestId, async () => {
      const driver = await this.connectedDriver(device.device, parsed.command);
      const tags = targets.map(([t]) => t);
      return this.inTurn(tags, queueDeadline, async (hold) => {
        await run.audited();
        this.takeRate(tags);
        const written: Record<string, TagValue | null> = {};
        let ts = 0;
        for (const [target, value] of targets) {
          const deadline = Date.now() + target.tag.commandTimeoutMs;
          const result = await this.writer.write(driver, target, value as TagValue, deadline, hold, run);
          if (!result.ok)
            return {
              ...result,
              error: `tag "${target.tag.name}": ${result.error}`,
              values: written,
            };
          written[target.tag.name] = result.value ?? null;
          ts = Math.max(ts, result.ts ?? 0);
        }
        return { ok: true, values: written, ts };
      });
    });
  }

  /**
   * Runs `work` once the earlier commands on these tags are done, or refuses the command when they
   * are not done by `deadline` (it never reached the device). `work` may hold the tags past its
   * answer, until a write whose outcome is unknown settles on the device.
   */
  private async inTurn(
    tags: readonly CommandTag[],
    deadline: number,
    work: (hold: (settled: Promise<unknown>) => void) => Promise<CommandResult>,
  ): Promise<CommandResult> {
    const turn = this.queue.take(tags.map((t) => `${t.device}\u0000${t.tag.name}`));
    let held: Promise<unknown> = Promise.resolve();
    try {
      const waited = await bounded(turn.ready, deadline - Date.now());
      if (waited === 'timeout') {
        const names = tags.map((t) => `"${t.tag.name}"`).join(', ');
        throw new Refusal(
          `not written: an earlier command on ${names} was still running when the command timed out`,
        );
      }
      return await work((settled) => (held = settled));
    } finally {
      void held.then(turn.release, turn.release);
    }
  }

  private async runGet(address: TagAddress, payload: Buffer, run: CommandRun): Promise<CommandResult> {
    const { device, tagName: name, target } = address;
    const parsed = parseGet(payload);
    const requestId = parsed.ok ? parsed.command.requestId : parsed.requestId;
    if (!target) return failure(`unknown tag "${name}" on device "${device.device}"`, requestId);
    if (!parsed.ok) return failure(parsed.error, requestId);
    try {
      const driver = await this.connectedDriver(device.device, parsed.command);
      await run.audited();
      run.reachedDevice = true;
      const outcome = await bounded(driver.read([name]), target.tag.commandTimeoutMs);
      if (outcome === 'timeout')
        return failure(
          `no answer from device "${device.device}" within ${target.tag.commandTimeoutMs} ms`,
          requestId,
        );
      const sample = outcome.find((s) => s.tag === name);
      if (!sample) return failure(`device "${device.device}" returned no value for "${name}"`, requestId);
      return withRequestId(sampleResult(sample), requestId);
    } catch (err) {
      if (err instanceof Refusal) return failure(err.message, requestId);
      return failure(`read failed: ${(err as Error).message}`, requestId);
    }
  }

  /**
   * Runs a command at most once per sender, target and requestId; a duplicate gets the first
   * result. Another sender's same requestId is another command. Only commands that got past the
   * pre-write checks count as done: a refused one may be sent again.
   */
  private once(
    sender: string,
    target: string,
    requestId: string | undefined,
    work: () => Promise<CommandResult>,
  ): Promise<CommandResult> {
    const key = `${sender}\u0000${target}\u0000${requestId}`;
    if (requestId !== undefined) {
      const first = this.done.get(key);
      if (first) return first;
    }
    const result = work().then(
      (r) => withRequestId(r, requestId),
      (err: unknown) => {
        if (requestId !== undefined) this.done.delete(key);
        if (err instanceof Refusal) return failure(err.message, requestId);
        throw err;
      },
    );
    if (requestId !== undefined) this.done.set(key, result);
    return result;
  }

  /** The device's driver once connected; waits up to the command's ttlMs when it carries one. */
  private async connectedDriver(deviceId: string, options: CommandOptions): Promise<Driver> {
    const driver = this.opts.drivers.get(deviceId);
    if (!driver) throw new Refusal(`device "${deviceId}" is not running (disabled or not started)`);
    const state = driver.status().state;
    if (state === 'connected') return driver;
    if (options.ttlMs === undefined || options.ttlMs === 0) {
      throw new Refusal(`device "${deviceId}" is not connected (${state})`);
    }
    const deadline = Date.now() + options.ttlMs;
    while (Date.now() < deadline) {
      await sleep(Math.min(CONNECT_POLL_MS, Math.max(1, deadline - Date.now())));
      if (driver.status().state === 'connected') return driver;
      if (!this.running) break;
    }
    throw new Refusal(`device "${deviceId}" did not connect within ttlMs ${options.ttlMs}`);
  }

  /** Every tag's rate limit allows one more write; then takes one write from each. */
  private takeRate(targets: readonly CommandTag[]): void {
    const now = Date.now();
    for (const t of targets) {
      if (t.rate?.exceeded(now))
        throw new Refusal(`rate limit of tag "${t.tag.name}" exceeded (${t.rate.describe()})`);
    }
    for (const t of targets) t.rate?.take(now);
  }
}

function requestIdOf(payload: Buffer): string | undefined {
  const parsed = parseSet(payload);
  return parsed.ok ? parsed.command.requestId : parsed.requestId;
}
