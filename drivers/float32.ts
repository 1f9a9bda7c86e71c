// A float32 read from a device, as people write it: the shortest decimal that reads back as the same
// float32 (200.11174, not the float64 widening 200.1117401123047). Shared by the drivers that decode
// 32-bit floats (Modbus float32, OPC UA Float); float64 values need nothing, JavaScript already
// prints the shortest decimal of a double.

/** Exact powers of ten (10^22 is the last one a double holds exactly). */
const POW10 = Array.from({ length: 23 }, (_, i) => 10 ** i);
/** The smallest normal float32; below it, fewer significant bits. */
const MIN_NORMAL = 2 ** -126;

/**
 * The shortest decimal (at most 9 significant digits: every float32 round-trips with 9) equal to `v`
 * as a float32. Decimals are built with arithmetic, not strings (a few ns instead of ~1 µs, which
 * counts at 100k tags/s): `k / 10^p` with k and 10^p exact is the double nearest to the decimal,
 * exactly what parsing its text gives; the round-trip check keeps every answer correct.
 */
export function shortestFloat32(v: number): number {
  if (!Number.isFinite(v) || v === 0) return v;
  const single = Math.fround(v);
  // Digits of the magnitude, the sign put back after: ties round away from zero, as toPrecision does.
  const magnitude = Math.abs(single);
  const sign = single < 0 ? -1 : 1;
  const exponent = Math.floor(Math.log10(magnitude));
  // Fewer than 6 digits are found at 6 too (the 6-digit rounding of such a value is that value),
  // except for subnormals, whose precision is lower still.
  const first = Math.abs(single) < MIN_NORMAL ? 1 : 6;
  for (let digits = first; digits <= 9; digits++) {
    const p = digits - 1 - exponent;
    let candidate: number;
    if (p >= 0 && p < POW10.length) candidate = (sign * Math.round(magnitude * POW10[p]!)) / POW10[p]!;
    else if (p < 0 && -p < POW10.length) candidate = sign * Math.round(magnitude / POW10[-p]!) * POW10[-p]!;
    else candidate = Number(single.toPrecision(digits)); // below 1e-13 or above 1e22: rare, exact via text
    if (Math.fround(candidate) === single) return candidate;
  }
  return Number(single.toPrecision(9));
}
