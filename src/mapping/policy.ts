// Publish policies as pure decisions: given what was last published and a new sample, publish now,
// hold it for later (minimum interval), or let it pass. Timers live in the publisher.
import type { TagSample, TagValue } from '../../drivers/types.js';
import type { PublishPolicy } from '../config/types.js';

/**
 * A tag's publishing state, with its newest sample (published or not) kept in place: the sample's
 * fields are overwritten by each new one, so the driver's object dies young (see sample-record.ts),
 * and the record is this object itself, not one more object per tag (at 100k tags a separate record
 * was 6 MB, plus its boxed numbers). A class, so a subclass (the publisher's per-tag entry) keeps
 * every field in the object itself.
 */
export class PolicyState {
  /** The newest sample's fields; `sampled` says whether there is one yet. */
  tag = '';
  ts = 0;
  quality: TagSample['quality'] = 'good';
  value: TagValue | null = null;
  reason: string | undefined = undefined;
  sampled = false;
  /** Whether anything was published yet; the `published*` fields describe the last publish. */
  published = false;
  publishedQuality: TagSample['quality'] = 'good';
  /**
   * The last published value when a number, in a field that only ever holds numbers: V8 keeps it
   * unboxed and overwrites it in place. A `value` field that may hold null or a boolean points at
   * the sample's boxed number instead, which lives until the next publish (a second) and so is
   * promoted to the old space as garbage: 1.6 MB a second at 100k tags.
   */
  publishedNumber = 0;
  /** The last published value when not a number (null, boolean, string, array); else undefined. */
  publishedOther: TagValue | null | undefined = undefined;
  /** When the last publish was (wall clock, ms). */
  publishedAt = 0;
  /** A change is waiting for the minimum interval to end. */
  held = false;
  /** Periodic policy: when the next publish is due. */
  nextDueAt = 0;

  constructor(readonly policy: PublishPolicy) {}
}

export function newPolicyState(policy: PublishPolicy): PolicyState {
  return new PolicyState(policy);
}

/**
 * The newest sample received (published or not), or undefined before the first: the state itself,
 * read as a sample (no copy, for the publisher's timer, which runs over every tag). Outside the
 * publisher, use `copyOfLatest`.
 */
export function latestSample(state: PolicyState): TagSample | undefined {
  // The state carries a sample's fields (tag, ts, quality, value, reason) under its own names.
  return state.sampled ? (state as unknown as TagSample) : undefined;
}

/**
 * A copy of the newest sample, for readers outside the publisher: the state itself carries the
 * policy's fields too, which a reader serialising the whole sample would otherwise hand out.
 */
export function copyOfLatest(state: PolicyState): TagSample | undefined {
  if (!state.sampled) return undefined;
  const { tag, ts, value } = state;
  if (state.quality === 'good') return { tag, ts, quality: 'good', value: value as TagValue };
  const reason = state.reason ?? '';
  return state.quality === 'uncertain'
    ? { tag, ts, quality: 'uncertain', value: value as TagValue, reason }
    : { tag, ts, quality: 'bad', value, reason };
}

/** Writes `sample` into the state's newest-sample fields. */
export function keepLatest(state: PolicyState, sample: TagSample): void {
  state.tag = sample.tag;
  state.ts = sample.ts;
  state.quality = sample.quality;
  state.value = sample.value;
  state.reason = sample.quality === 'good' ? undefined : sample.reason;
  state.sampled = true;
}

/** The last published value. */
function publishedValue(state: PolicyState): TagValue | null {
  return state.publishedOther === undefined ? state.publishedNumber : state.publishedOther;
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
  keepLatest(state, sample);
  if (!state.published) return 'publish';
  // A quality change is news whatever the policy says.
  if (state.publishedQuality !== sample.quality) return 'publish';
  const policy = state.policy;
  if (policy.kind === 'periodic') return 'skip';
  const last = publishedValue(state);
  if (!changedBeyondDeadband(last, sample.value, policy.deadband, policy.deadbandPercent)) return 'skip';
  if (policy.minIntervalMs > 0 && now - state.publishedAt < policy.minIntervalMs) {
    state.held = true;
    return 'hold';
  }
  return 'publish';
}

export function markPublished(state: PolicyState, sample: TagSample, now: number): void {
  // Updated in place: this runs for every published sample.
  const value = sample.value;
  if (typeof value === 'number') {
    state.publishedNumber = value;
    state.publishedOther = undefined;
  } else state.publishedOther = value;
  state.publishedQuality = sample.quality;
  state.publishedAt = now;
  state.published = true;
  state.held = false;
  if (state.policy.kind === 'periodic' && state.nextDueAt <= now)
    state.nextDueAt = now + state.policy.periodMs;
}

/** On a timer tick: the sample due now (held change, periodic publish, heartbeat), if any. */
export function dueOnTick(state: PolicyState, now: number): TagSample | undefined {
  const latest = latestSample(state);
  if (!latest || !state.published) return undefined;
  const policy = state.policy;
  const sinceLast = now - state.publishedAt;
  if (policy.kind === 'periodic') {
    if (now < state.nextDueAt || sinceLast < policy.minIntervalMs) return undefined;
    // Keep the period's phase; skip missed periods instead of bursting to catch up.
    state.nextDueAt += policy.periodMs;
    if (state.nextDueAt <= now) state.nextDueAt = now + policy.periodMs;
    return latest;
  }
  if (state.held && sinceLast >= policy.minIntervalMs) return latest;
  if (policy.heartbeatMs > 0 && sinceLast >= policy.heartbeatMs) return latest;
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
