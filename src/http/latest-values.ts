// The latest sample of every tag, kept as driver batches arrive: /api/tags reads it, /api/events
// streams its changes, /metrics counts samples per device. One map write per sample.
import type { TagSample } from '../../drivers/types.js';
import { keepSample } from '../mapping/sample-record.js';

export type ChangeListener = (device: string, batch: readonly TagSample[]) => void;

/**
 * A component handed the same batches that keeps the newest sample of some tags itself (the tag
 * publisher, whose policy state holds it): those are read there, not kept twice.
 */
export interface SampleKeeper {
  /** The tags of `device` it keeps, or undefined for none. */
  keeps(device: string): { has(tag: string): boolean } | undefined;
  latest(device: string, tag: string): TagSample | undefined;
}

export class LatestValues {
  private readonly byDevice = new Map<string, Map<string, TagSample>>();
  private readonly samples = new Map<string, number>();
  private readonly listeners = new Set<ChangeListener>();
  private keeper: SampleKeeper | undefined;

  /**
   * From now on, the tags `keeper` keeps are read from it. It must be given every batch this
   * store is given (the gateway hands each batch to both).
   */
  shareWith(keeper: SampleKeeper | undefined): void {
    this.keeper = keeper;
  }

  onSamples(device: string, batch: readonly TagSample[]): void {
    const kept = this.keeper?.keeps(device);
    let tags = this.byDevice.get(device);
    // Kept as records updated in place, not the driver's objects (see mapping/sample-record.ts).
    for (const sample of batch) {
      if (kept?.has(sample.tag)) continue;
      if (!tags) this.byDevice.set(device, (tags = new Map()));
      const record = tags.get(sample.tag);
      const updated = keepSample(record, sample);
      if (updated !== record) tags.set(sample.tag, updated);
    }
    this.samples.set(device, (this.samples.get(device) ?? 0) + batch.length);
    for (const listener of this.listeners) listener(device, batch);
  }

  get(device: string, tag: string): TagSample | undefined {
    if (this.keeper?.keeps(device)?.has(tag)) return this.keeper.latest(device, tag);
    return this.byDevice.get(device)?.get(tag);
  }

  /** Records this store keeps itself (memory checks in tests). */
  ownRecords(): number {
    let n = 0;
    for (const tags of this.byDevice.values()) n += tags.size;
    return n;
  }

  /** Samples received per device since start. */
  sampleCounts(): ReadonlyMap<string, number> {
    return this.samples;
  }

  /** Forgets a device's values (it was removed from the config). */
  forget(device: string): void {
    this.byDevice.delete(device);
  }

  /** Calls `listener` with every batch from now on; returns the function that stops it. */
  listen(listener: ChangeListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
