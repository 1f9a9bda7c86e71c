// Password hashes for the config: scrypt with its parameters and salt in the string, so the cost
// can grow later without breaking hashes already deployed.
// Format: scrypt$<log2 N>$<r>$<p>$<salt base64>$<key base64>
import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';

const LOG2_N = 15;
const BLOCK_SIZE = 8;
const PARALLELISM = 1;
const KEY_LENGTH = 32;
const SALT_LENGTH = 16;

function derive(password: string, salt: Buffer, keyLength: number, options: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    scrypt(password, salt, keyLength, options, (err, key) => (err ? reject(err) : resolve(key))),
  );
}

function memoryFor(log2N: number, r: number, p: number): number {
  // scrypt needs 128 * N * r * (p + 1) bytes; leave headroom over Node's 32 MiB default.
  return 128 * 2 ** log2N * r * (p + 1) + 1024 * 1024;
}

export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(SALT_LENGTH);
  const key = await derive(password, salt, KEY_LENGTH, {
    N: 2 ** LOG2_N,
    r: BLOCK_SIZE,
    p: PARALLELISM,
    maxmem: memoryFor(LOG2_N, BLOCK_SIZE, PARALLELISM),
  });
  return ['scrypt', LOG2_N, BLOCK_SIZE, PARALLELISM, salt.toString('base64'), key.toString('base64')].join(
    '$',
  );
}

export interface ParsedHash {
  log2N: number;
  r: number;
  p: number;
  salt: Buffer;
  key: Buffer;
}

/** Parses a stored hash; returns a message saying what is wrong when it is not one of ours. */
export function parsePasswordHash(hash: string): ParsedHash | string {
  const parts = hash.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return 'not a scrypt$... hash made by `tagwire passwd`';
  const [log2N, r, p] = parts.slice(1, 4).map(Number) as [number, number, number];
  // Bounds keep a hostile or mistyped config from asking for gigabytes per login.
  if (!Number.isInteger(log2N) || log2N < 10 || log2N > 20) return 'scrypt cost (log2 N) must be 10..20';
  if (!Number.isInteger(r) || r < 1 || r > 32) return 'scrypt block size r must be 1..32';
  if (!Number.isInteger(p) || p < 1 || p > 16) return 'scrypt parallelism p must be 1..16';
  const salt = Buffer.from(parts[4]!, 'base64');
  const key = Buffer.from(parts[5]!, 'base64');
  if (salt.length < 8) return 'salt is too short';
  if (key.length < 16) return 'key is too short';
  return { log2N, r, p, salt, key };
}

export async function verifyPassword(password: string, hash: string): Promise<boolean> {
  const parsed = parsePasswordHash(hash);
  if (typeof parsed === 'string') return false;
  const key = await derive(password, parsed.salt, parsed.key.length, {
    N: 2 ** parsed.log2N,
    r: parsed.r,
    p: parsed.p,
    maxmem: memoryFor(parsed.log2N, parsed.r, parsed.p),
  });
  return timingSafeEqual(key, parsed.key);
}

/**
 * A hash no password matches, at the cost of `like` (a configured user's hash) or else the cost
 * `hashPassword` uses: checked in place of an unknown user's, so a wrong username costs the same
 * work as a wrong password.
 */
export function unmatchableHash(like?: string): string {
  const parsed = like === undefined ? null : parsePasswordHash(like);
  const fields =
    parsed && typeof parsed === 'object'
      ? [parsed.log2N, parsed.r, parsed.p]
      : [LOG2_N, BLOCK_SIZE, PARALLELISM];
  return [
    'scrypt',
    ...fields,
    randomBytes(SALT_LENGTH).toString('base64'),
    randomBytes(KEY_LENGTH).toString('base64'),
  ].join('$');
}
