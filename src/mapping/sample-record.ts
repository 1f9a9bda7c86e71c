// A tag's latest sample, kept as a record whose fields each new sample overwrites, never as the
// driver's object. A sample replaced a poll later lives about a second: long enough for V8 to move
// it to the old space, where 20,000 tags a second of such objects grew the heap by megabytes a
// second between full collections (and the RSS with it). Copied, the driver's object dies young.
import type { TagSample, TagValue } from '../../drivers/types.js';

interface SampleRecord {
  tag: string;
  ts: number;
  quality: TagSample['quality'];
  value: TagValue | null;
  reason: string | undefined;
}

/** `sample` written into `record` (made on the first sample); returns the record. */
export function keepSample(record: TagSample | undefined, sample: TagSample): TagSample {
  const reason = sample.quality === 'good' ? undefined : sample.reason;
  if (!record) {
    const fresh: SampleRecord = {
      tag: sample.tag,
      ts: sample.ts,
      quality: sample.quality,
      value: sample.value,
      reason,
    };
    return fresh as TagSample;
  }
  const kept = record as SampleRecord;
  kept.tag = sample.tag;
  kept.ts = sample.ts;
  kept.quality = sample.quality;
  kept.value = sample.value;
  kept.reason = reason;
  return record;
}
