// Publish policies as pure decisions: given what was last published and a new sample, publish now,
// hold it for later (minimum interval), or let it pass. Timers live in the publisher.
import type { TagSample, TagValue } from '../../drivers/types.js';
import type { PublishPolicy } from '../config/types.js';
import { keepSample } from './sample-record.js';

export interface PolicyState {
  readonly policy: PublishPolicy;
  /**
   * The newest sample received (published or not): a record updated in place, never the driver's
   * object, so that object dies young (see sample-record.ts).
   */
  latest?: TagSample;
  /** What was last published, and when (wall clock, ms). */
  published?: { value: TagValue | null; quality: TagSample['quality']; at: number };
  /** A change is waiting for the minimum interval to end. */
  held: boolean;
  /** Periodic policy: when the next publish is due. */
  nextDueAt: number;
}

export function newPolicyState(policy: PublishPolicy): PolicyState {
  return { policy, held: false, nextDueAt: 0 };
}

/** Whether `next` moved far enough from `last` to be published under the deadbands. */
export function changedBeyondDeadband(
  last: TagValue | null,
  next: TagValue | null,
  deadband: number,
  deadbandPercent: number,
): boolean {
  if (typeof last === 'number' && typeof next === 'number') {
    if (Number.isNaN(last) !== Number.isNaN(next)) return true;
    const delta = Math.abs(next - last);
    if (!(delta > deadband)) return false;
    return deadbandPercent === 0 || delta > (Math.abs(last) * deadbandPercent) / 100;
  }
  if (last === next) return false;
  if (last === null || next === null || typeof last !== 'object' || typeof next !== 'object') return true;
  return JSON.stringify(last) !== JSON.stringify(next);
}

export type Decision = 'publish' | 'hold' | 'skip';

/** What to do with a new sample. Records it as the latest; the caller calls `markPublished` when it publishes. */
export function onSample(state: PolicyState, sample: TagSample, now: number): Decision {
  state.latest = keepSample(state.latest, sample);
  const last = state.published;
  if (!last) return 'publish';
  // A quality change is news whatever the policy says.
  if (last.quality !== sample.quality) return 'publish';
  const policy = state.policy;
  if (policy.kind === 'periodic') return 'skip';
  if (!changedBeyondDeadband(last.value, sample.value, policy.deadband, policy.deadbandPercent))
    return 'skip';
  if (policy.minIntervalMs > 0 && now - last.at < policy.minIntervalMs) {
    state.held = true;
    return 'hold';
  }
  return 'publish';
}

export function markPublished(state: PolicyState, sample: TagSample, now: number): void {
  const last = state.published;
  // Updated in place: this runs for every published sample.
  if (last) {
    last.value = sample.value;
    last.quality = sample.quality;
    last.at = now;
  } else {
    state.published = { value: sample.value, quality: sample.quality, at: now };
  }
  state.held = false;
  if (state.policy.kind === 'periodic' && state.nextDueAt <= now)
    state.nextDueAt = now + state.policy.periodMs;
}

/** On a timer tick: the sample due now (held change, periodic publish, heartbeat), if any. */
export function dueOnTick(state: PolicyState, now: number): TagSample | undefined {
  const latest = state.latest;
  const last = state.published;
  if (!latest || !last) return undefined;
  const policy = state.policy;
  if (policy.kind === 'periodic') {
    if (now < state.nextDueAt || now - last.at < policy.minIntervalMs) return undefined;
    // Keep the period's phase; skip missed periods instead of bursting to catch up.
    state.nextDueAt += policy.periodMs;
    if (state.nextDueAt <= now) state.nextDueAt = now + policy.periodMs;
    return latest;
  }
  if (state.held && now - last.at >= policy.minIntervalMs) return latest;
  if (policy.heartbeatMs > 0 && now - last.at >= policy.heartbeatMs) return latest;
  return undefined;
}

/** How often the publisher's timer must look at this policy to keep it on time. */
export function tickNeededMs(policy: PublishPolicy): number | undefined {
  const periods =
    policy.kind === 'periodic'
      ? [policy.periodMs, policy.minIntervalMs]
      : [policy.heartbeatMs, policy.minIntervalMs];
  const shortest = Math.min(...periods.filter((p) => p > 0));
  return Number.isFinite(shortest) ? shortest : undefined;
}
