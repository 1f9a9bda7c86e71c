// The latest sample of every tag, kept as driver batches arrive: /api/tags reads it, /api/events
// streams its changes, /metrics counts samples per device. One map write per sample.
import type { TagSample } from '../../drivers/types.js';
import { keepSample } from '../mapping/sample-record.js';

export type ChangeListener = (device: string, batch: readonly TagSample[]) => void;

export class LatestValues {
  private readonly byDevice = new Map<string, Map<string, TagSample>>();
  private readonly samples = new Map<string, number>();
  private readonly listeners = new Set<ChangeListener>();

  onSamples(device: string, batch: readonly TagSample[]): void {
    let tags = this.byDevice.get(device);
    if (!tags) {
      tags = new Map();
      this.byDevice.set(device, tags);
    }
    // Kept as records updated in place, not the driver's objects (see mapping/sample-record.ts).
    for (const sample of batch) {
      const kept = tags.get(sample.tag);
      const record = keepSample(kept, sample);
      if (record !== kept) tags.set(sample.tag, record);
    }
    this.samples.set(device, (this.samples.get(device) ?? 0) + batch.length);
    for (const listener of this.listeners) listener(device, batch);
  }

  get(device: string, tag: string): TagSample | undefined {
    return this.byDevice.get(device)?.get(tag);
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
