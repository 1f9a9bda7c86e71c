// One write of a command, with the tag's turn held: the driver's write and read-back bounded by
// the command's deadline, the read-back published on the tag's topic before the answer, and the
// truth about writes that went unanswered: their outcome is unknown (the device may still apply
// them), so the tag's turn stays taken until the driver settles, and the tag's fresh value is
// published once the device answers again.
import {
  OUTCOME_UNKNOWN,
  type Driver,
  type TagSample,
  type TagValue,
  type WriteResult,
} from '../../drivers/types.js';
import type { Logger } from '../log.js';
import type { CommandTag } from './command-index.js';
import { sampleResult, type CommandProgress, type CommandResult } from './command-result.js';

/** Reads after an unanswered write back off up to this, until the device answers. */
const RECOVERY_MAX_DELAY_MS = 5000;
const RECOVERY_FIRST_DELAY_MS = 100;

export interface CommandWriterOptions {
  /** The live map of drivers: a driver replaced by a reload ends the reads of the old one. */
  drivers: ReadonlyMap<string, Driver>;
  log: Logger;
  publish(deviceId: string, samples: readonly TagSample[]): void;
  /** False once the router stops. */
  running(): boolean;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

export class CommandWriter {
  /** Writes started per tag: a newer write makes an older unknown write's late value stale. */
  private readonly started = new Map<string, number>();

  constructor(private readonly opts: CommandWriterOptions) {}

  /**
   * Writes `value` and answers with the value read back. `hold` keeps the tag's turn until the
   * given promise settles (a write still running on the device after the deadline).
   */
  async write(
    driver: Driver,
    target: CommandTag,
    value: TagValue,
    deadline: number,
    hold: (settled: Promise<unknown>) => void,
    progress: CommandProgress,
  ): Promise<CommandResult> {
    const key = `${target.device}\u0000${target.tag.name}`;
    const generation = (this.started.get(key) ?? 0) + 1;
    this.started.set(key, generation);
    const current = () => this.started.get(key) === generation;
    const writing: Promise<WriteResult> = driver.write(target.tag.name, value).catch((err: unknown) => ({
      ok: false as const,
      error: `write failed: ${(err as Error).message}`,
    }));
    const outcome = await bounded(writing, deadline - Date.now());
    // The driver refuses some values before sending anything (encoding, not connected).
    if (outcome === 'timeout' || outcome.ok || outcome.outcome !== 'refused') progress.reachedDevice = true;
    if (outcome === 'timeout') {
      hold(writing);
      void this.settle(driver, target, writing, current);
      return {
        ok: false,
        error: `write to ${target.tag.name}: timeout after ${target.tag.commandTimeoutMs} ms: ${OUTCOME_UNKNOWN}`,
        outcome: 'unknown',
      };
    }
    if (!outcome.ok) {
      if (outcome.outcome !== 'unknown') return { ok: false, error: outcome.error };
      void this.settle(driver, target, writing, current);
      return { ok: false, error: outcome.error, outcome: 'unknown' };
    }
    // Subscribers of the tag see the new value before its sender sees the answer.
    this.opts.publish(target.device, [outcome.sample]);
    return sampleResult(outcome.sample);
  }

  /**
   * After an unknown outcome: publishes the read-back once the driver's write settles, or, when it
   * failed, the tag's value read afresh once the device answers again. Gives up when a newer write
   * on the tag has started (its own read-back tells the truth), the driver is replaced or stopped,
   * or the router stops.
   */
  private async settle(
    driver: Driver,
    target: CommandTag,
    writing: Promise<WriteResult>,
    current: () => boolean,
  ): Promise<void> {
    const name = target.tag.name;
    try {
      const settled = await writing;
      if (settled.ok) {
        if (current()) this.opts.publish(target.device, [settled.sample]);
        return;
      }
      let delay = RECOVERY_FIRST_DELAY_MS;
      while (this.opts.running() && current() && this.opts.drivers.get(target.device) === driver) {
        const state = driver.status().state;
        if (state === 'stopped') return;
        if (state === 'connected') {
          const samples = await driver.read([name]);
          const sample = samples.find((s) => s.tag === name);
          if (sample?.quality === 'good') {
            if (current()) this.opts.publish(target.device, [sample]);
            return;
          }
        }
        await sleep(delay);
        delay = Math.min(delay * 2, RECOVERY_MAX_DELAY_MS);
      }
    } catch (err) {
      this.opts.log.warn({ err, device: target.device, tag: name }, 'no fresh value after an unknown write');
    }
  }
}

/** `work`'s value, or 'timeout' when it takes longer than `timeoutMs`. */
export async function bounded<T>(work: Promise<T>, timeoutMs: number): Promise<T | 'timeout'> {
  if (timeoutMs <= 0) return Promise.race([work, Promise.resolve('timeout' as const)]);
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>(
    (resolve) => (timer = setTimeout(() => resolve('timeout'), timeoutMs)),
  );
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
