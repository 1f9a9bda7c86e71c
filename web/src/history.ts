// Recent numeric values of every tag, for trends: one ring buffer per tag, sized so that all tags
// together stay within a fixed number of points (a 10,000-tag gateway keeps fewer points per tag
// than the demo, and the tab's memory stays bounded).

const TOTAL_POINTS = 1_000_000;
const MAX_PER_TAG = 600;
const MIN_PER_TAG = 60;

class Ring {
  ts: Float64Array;
  values: Float64Array;
  start = 0;
  length = 0;

  constructor(capacity: number) {
    this.ts = new Float64Array(capacity);
    this.values = new Float64Array(capacity);
  }

  add(ts: number, value: number): void {
    const cap = this.ts.length;
    if (this.length > 0 && ts <= this.ts[(this.start + this.length - 1) % cap]!) return;
    const at = (this.start + this.length) % cap;
    this.ts[at] = ts;
    this.values[at] = value;
    if (this.length < cap) this.length++;
    else this.start = (this.start + 1) % cap;
  }

  resize(capacity: number): void {
    const [ts, values] = this.read(capacity);
    this.ts = new Float64Array(capacity);
    this.values = new Float64Array(capacity);
    this.ts.set(ts);
    this.values.set(values);
    this.start = 0;
    this.length = ts.length;
  }

  /** The newest `max` points, oldest first. */
  read(max = this.length): [Float64Array, Float64Array] {
    const n = Math.min(max, this.length);
    const ts = new Float64Array(n);
    const values = new Float64Array(n);
    const cap = this.ts.length;
    const first = this.start + this.length - n;
    for (let i = 0; i < n; i++) {
      ts[i] = this.ts[(first + i) % cap]!;
      values[i] = this.values[(first + i) % cap]!;
    }
    return [ts, values];
  }
}

export class History {
  private rings = new Map<string, Ring>();
  private perTag = MAX_PER_TAG;

  /** Sets the points kept per tag from the number of tags. */
  setBudget(tags: number): void {
    const perTag = Math.max(MIN_PER_TAG, Math.min(MAX_PER_TAG, Math.floor(TOTAL_POINTS / Math.max(1, tags))));
    if (perTag === this.perTag) return;
    this.perTag = perTag;
    for (const ring of this.rings.values()) if (ring.ts.length > perTag) ring.resize(perTag);
  }

  add(key: string, ts: number, value: number): void {
    let ring = this.rings.get(key);
    if (!ring) {
      // Small at first: most tags of a big gateway are never trended.
      ring = new Ring(Math.min(this.perTag, 16));
      this.rings.set(key, ring);
    } else if (ring.length === ring.ts.length && ring.ts.length < this.perTag) {
      ring.resize(Math.min(this.perTag, ring.ts.length * 2));
    }
    ring.add(ts, value);
  }

  /** Timestamps (epoch seconds, as uPlot wants) and values, oldest first. */
  series(key: string): [number[], number[]] {
    const ring = this.rings.get(key);
    if (!ring) return [[], []];
    const [ts, values] = ring.read();
    return [Array.from(ts, (t) => t / 1000), Array.from(values)];
  }

  clear(): void {
    this.rings.clear();
  }
}
