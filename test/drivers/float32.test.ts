// float32 values as people write them: the shortest decimal that is the same float32.
import { describe, expect, it } from 'vitest';
import { shortestFloat32 } from '../../drivers/float32.js';

/** The reference: text with 1, 2, ... 9 significant digits until one reads back as the same float32. */
function shortestByText(v: number): number {
  const single = Math.fround(v);
  for (let digits = 1; digits <= 9; digits++) {
    const candidate = Number(single.toPrecision(digits));
    if (Math.fround(candidate) === single) return candidate;
  }
  throw new Error(`no decimal for ${v}`);
}

function significantDigits(v: number): number {
  return v.toExponential().replace(/e.*$/, '').replace(/[-.]/g, '').length;
}

describe('shortestFloat32', () => {
  it('drops the float64 widening noise', () => {
    expect(shortestFloat32(200.1117401123047)).toBe(200.11174);
    expect(String(shortestFloat32(Math.fround(0.1)))).toBe('0.1');
    expect(shortestFloat32(Math.fround(21.5))).toBe(21.5);
    expect(shortestFloat32(Math.fround(-1234.567))).toBe(-1234.567);
    expect(shortestFloat32(Math.fround(3.4e38))).toBe(3.4e38);
    expect(shortestFloat32(Math.fround(1e-40))).toBe(1e-40); // subnormal
    expect(shortestFloat32(16777217)).toBe(16777216); // not a float32: its float32
    expect(shortestFloat32(0)).toBe(0);
    expect(shortestFloat32(Infinity)).toBe(Infinity);
  });

  it('agrees with the text reference on every kind of float32 (random bit patterns)', () => {
    const bits = new Uint32Array(1);
    const single = new Float32Array(bits.buffer);
    const wrong: string[] = [];
    let checked = 0;
    let seed = 12345;
    while (checked < 200_000) {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0; // deterministic, so a failure repeats
      bits[0] = seed ^ (seed << 7);
      const v = single[0]!;
      if (!Number.isFinite(v)) continue;
      const got = shortestFloat32(v);
      // As short as the reference; at a tie of two such decimals either one is the same float32.
      if (Math.fround(got) !== v || significantDigits(got) !== significantDigits(shortestByText(v)))
        wrong.push(`${v} -> ${got} (text: ${shortestByText(v)})`);
      checked++;
    }
    expect(wrong.slice(0, 5)).toEqual([]);
  });
});
