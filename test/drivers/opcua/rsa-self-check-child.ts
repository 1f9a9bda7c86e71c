// Run by rsa-self-check.test.ts in a process of its own (a module cache without node-opcua):
// `light` loads node-opcua through the driver's loader (our check in the place of node-opcua's),
// `plain` requires node-opcua as it is. Prints, as the last line, the RSA key
// pairs generated meanwhile (their sizes) and what the check reported.
import crypto from 'node:crypto';
import { createRequire, syncBuiltinESMExports } from 'node:module';
import { loadOpcua } from '../../../drivers/opcua/load.js';

const require = createRequire(import.meta.url);
const keyPairs: number[] = [];
const started: Array<Promise<unknown>> = [];

// Every way node-opcua or our check makes an RSA key pair, counted by modulus length.
const subtle = crypto.webcrypto.subtle;
const generateKey = subtle.generateKey.bind(subtle);
subtle.generateKey = ((algorithm: { modulusLength?: number }, ...rest: unknown[]) => {
  keyPairs.push(algorithm.modulusLength ?? 0);
  const pending = (generateKey as (...args: unknown[]) => Promise<unknown>)(algorithm, ...rest);
  started.push(pending);
  return pending;
}) as typeof subtle.generateKey;
const generateKeyPair = crypto.generateKeyPair;
(crypto as { generateKeyPair: unknown }).generateKeyPair = (
  type: string,
  options: { modulusLength?: number },
  ...rest: unknown[]
) => {
  keyPairs.push(options.modulusLength ?? 0);
  const callback = rest.pop() as (...args: unknown[]) => void;
  started.push(
    new Promise<void>((resolve) =>
      (generateKeyPair as (...args: unknown[]) => void)(type, options, ...rest, (...result: unknown[]) => {
        callback(...result);
        resolve();
      }),
    ),
  );
};

// Our check imports generateKeyPair by name: its binding follows the patch from here on.
syncBuiltinESMExports();

const reports: string[] = [];
const mode = process.argv[2];
let client: string;
if (mode === 'light') {
  // The driver's loader, which puts our check in place; what it reports goes to the logger's debug.
  const opcua = await loadOpcua({ debug: (_fields, message) => reports.push(message ?? '') });
  client = typeof opcua.OPCUAClient;
  await Promise.all(started);
  // The check reports right after its key pair: before the next turn of the loop.
  await new Promise((resolve) => setImmediate(resolve));
} else {
  const opcua = require('node-opcua') as typeof import('node-opcua');
  client = typeof opcua.OPCUAClient;
  await Promise.all(started);
}
process.stdout.write(`\n${JSON.stringify({ client, keyPairs, reports })}\n`);
process.exit(0);
