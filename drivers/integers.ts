// The ranges of the two's-complement integer widths devices use, as bigint so 64-bit bounds are
// exact. Shared by the drivers' write range checks (Modbus int16..uint64, OPC UA SByte..UInt64).
export type IntegerRange = readonly [min: bigint, max: bigint];

export const INT8: IntegerRange = [-128n, 127n];
export const UINT8: IntegerRange = [0n, 255n];
export const INT16: IntegerRange = [-32768n, 32767n];
export const UINT16: IntegerRange = [0n, 65535n];
export const INT32: IntegerRange = [-(2n ** 31n), 2n ** 31n - 1n];
export const UINT32: IntegerRange = [0n, 2n ** 32n - 1n];
export const INT64: IntegerRange = [-(2n ** 63n), 2n ** 63n - 1n];
export const UINT64: IntegerRange = [0n, 2n ** 64n - 1n];
