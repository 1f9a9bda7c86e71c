// bdSeq per edge node, remembered across restarts (a host matches NDEATH to NBIRTH by it): one
// small JSON file in the data directory, written on each new session.
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';

export class BdSeqStore {
  private readonly file: string;
  private readonly values: Record<string, number>;

  constructor(dataDir: string) {
    this.file = path.join(dataDir, 'sparkplug-bdseq.json');
    try {
      this.values = JSON.parse(readFileSync(this.file, 'utf8')) as Record<string, number>;
    } catch {
      this.values = {};
    }
  }

  /** The next bdSeq of a node: 0 for its first session ever, then +1, wrapping at 256. */
  next(node: string): number {
    const last = this.values[node];
    const value = last === undefined ? 0 : (last + 1) % 256;
    this.values[node] = value;
    const temp = `${this.file}.tmp`;
    writeFileSync(temp, JSON.stringify(this.values));
    renameSync(temp, this.file);
    return value;
  }
}
