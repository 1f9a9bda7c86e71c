// node-opcua-secure-channel checks, as it loads on Node 20 and 21, that RSA PKCS#1 v1.5 decryption
// still works (Node's fix for CVE-2023-46809 turns it off) and only logs a warning when it does not.
// It checks with a fresh 4096-bit RSA key pair: 0.7-1.7 s of CPU on a libuv thread at every load,
// so twice in the demo (the OPC UA simulator's thread and the driver), right when the gateway
// starts and the console's first page loads. The same check here uses a 1024-bit pair (~20 ms):
// PKCS#1 v1.5 works or not whatever the key size.
import { constants, generateKeyPair, privateDecrypt, publicEncrypt, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import Module from 'node:module';
import path from 'node:path';

/** The module that runs the check at load, and the one function it exports (checked before use). */
const CHECK_MODULE = 'verify_pcks1.js';
const CHECK_EXPORT = 'testRSAPKCS1V15_EncryptDecrypt';

export type RsaCheckReport = (message: string) => void;

/** Whether RSA PKCS#1 v1.5 encryption round-trips with this Node (false under CVE-2023-46809's fix). */
export async function rsaPkcs1v15Works(): Promise<boolean> {
  const { publicKey, privateKey } = await new Promise<{ publicKey: KeyObject; privateKey: KeyObject }>(
    (resolve, reject) =>
      generateKeyPair('rsa', { modulusLength: 1024 }, (err, publicKey, privateKey) =>
        err ? reject(err) : resolve({ publicKey, privateKey }),
      ),
  );
  const padding = constants.RSA_PKCS1_PADDING;
  try {
    const encrypted = publicEncrypt({ key: publicKey, padding }, Buffer.from('buffer'));
    return privateDecrypt({ key: privateKey, padding }, encrypted).toString('ascii') === 'buffer';
  } catch {
    return false;
  }
}

/**
 * Puts the light check in the place of node-opcua-secure-channel's, before node-opcua is required
 * through `require`. Does nothing (node-opcua then checks as it always did) when that module is not
 * where it was, exports anything else than the one function, or is loaded already.
 * Returns undefined when it did nothing, else a promise that settles once the check has run (node-opcua
 * runs it as it loads).
 */
export function replaceRsaSelfCheck(
  require: NodeJS.Require,
  report: RsaCheckReport,
): Promise<void> | undefined {
  let file: string;
  try {
    file = path.join(path.dirname(require.resolve('node-opcua-secure-channel')), CHECK_MODULE);
    const exported = [...readFileSync(file, 'utf8').matchAll(/\bexports\.(\w+)\s*=/g)].map((m) => m[1]);
    if (exported.length === 0 || exported.some((name) => name !== CHECK_EXPORT)) return undefined;
  } catch {
    return undefined;
  }
  if (require.cache[file]) return undefined;
  let ran!: () => void;
  const done = new Promise<void>((resolve) => (ran = resolve));
  const check = async (): Promise<void> => {
    // As node-opcua: before 20 it works; from 22 nothing turns it back on.
    const major = Number(/^v(\d+)/.exec(process.version)?.[1]);
    if (major < 20 || major >= 22) return;
    if (await rsaPkcs1v15Works().catch(() => true)) return;
    report(
      `RSA PKCS#1 v1.5 is turned off in Node ${process.version} (CVE-2023-46809): the Basic128Rsa15 ` +
        'security policy needs node --security-revert=CVE-2023-46809',
    );
  };
  const module = new Module(file);
  module.filename = file;
  module.loaded = true;
  module.exports = { [CHECK_EXPORT]: () => check().finally(ran) };
  require.cache[file] = module;
  return done;
}
