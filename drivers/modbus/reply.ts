// A read's reply kept as it came (its bytes, or why it failed) until the scan's last reply is in,
// and decoded into samples only then. Samples made per reply lived as long as the slowest read of
// their scan: at 100k tags a second that outlived young-generation collections, and every sample
// (object and boxed value) was promoted to the old space as garbage, some 9 MB a second.
import type { TagSample } from '../types.js';
import { sampleOf, type ReadBlock } from './codec.js';
import type { PlannedRead } from './planner.js';

export type ReadReply =
  | { read: PlannedRead; ts: number; data: Uint8Array }
  /** No usable answer: every tag of the read is bad with this reason. */
  | { read: PlannedRead; ts: number; reason: string };

export function isFailed(reply: ReadReply): reply is Extract<ReadReply, { reason: string }> {
  return 'reason' in reply;
}

/** The samples of `replies`, in order, appended to `out`; replies failed for `skipReason` give none. */
export function samplesOf(
  replies: readonly ReadReply[],
  out: TagSample[] = [],
  skipReason?: string,
): TagSample[] {
  for (const reply of replies) {
    const { read, ts } = reply;
    if (isFailed(reply)) {
      if (reply.reason === skipReason) continue;
      for (const tag of read.tags)
        out.push({ tag: tag.name, ts, quality: 'bad', value: null, reason: reply.reason });
      continue;
    }
    const block: ReadBlock = {
      start: read.address,
      data: reply.data,
      kind: read.fc <= 2 ? 'bits' : 'registers',
    };
    for (const tag of read.tags) out.push(sampleOf(tag, block, ts));
  }
  return out;
}
