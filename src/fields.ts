// Copying the optional fields of an object that are set: for the many places that build an
// object whose absent fields must stay absent (not `undefined`, not `null`), such as MQTT
// properties, JSON answers and rows read back from SQLite.

/** The `keys` of `source` whose value is neither undefined nor null. */
export function setFields<T extends object, K extends keyof T>(
  source: T,
  keys: readonly K[],
): { [P in K]?: NonNullable<T[P]> } {
  const out: { [P in K]?: NonNullable<T[P]> } = {};
  for (const key of keys) {
    const value = source[key];
    if (value !== undefined && value !== null) out[key] = value as NonNullable<T[K]>;
  }
  return out;
}
