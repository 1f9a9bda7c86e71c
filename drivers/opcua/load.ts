// node-opcua, loaded on first use (it costs ~0.8 s of CPU and ~100 MB), with its own console output
// routed into our logger at debug level: the driver reports what matters in its own words.
// Required, not imported: an import of a CommonJS package has Node's lexer read every module
// node-opcua re-exports for their names (~0.25 s more); and in slices (load-order.ts), so the
// event loop keeps serving meanwhile. Its RSA self-check at load is made light (rsa-self-check.ts).
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { format } from 'node:util';
import { installFastDateTimeDecoder } from './datetime.js';
import { requireInSlices, type LoadOrder } from './load-order.js';
import { replaceRsaSelfCheck } from './rsa-self-check.js';

export type Opcua = typeof import('node-opcua');

/** Written beside the built load.js by scripts/build-opcua-load-order.mjs; absent under tsx. */
const LOAD_ORDER = new URL('./load-order.generated.json', import.meta.url);

interface DebugSink {
  debug(obj: object, msg?: string): void;
}

let loading: Promise<Opcua> | undefined;
let sink: DebugSink | undefined;

function recordedOrder(): LoadOrder | undefined {
  try {
    return JSON.parse(readFileSync(LOAD_ORDER, 'utf8')) as LoadOrder;
  } catch {
    return undefined;
  }
}

export function loadOpcua(log?: DebugSink): Promise<Opcua> {
  if (log && !sink) sink = log;
  loading ??= load();
  return loading;
}

async function load(): Promise<Opcua> {
  const require = createRequire(import.meta.url);
  // Its outcome goes where node-opcua's own warning went: our logger, at debug.
  replaceRsaSelfCheck(require, (message) => sink?.debug({ source: 'node-opcua', level: 'warning' }, message));
  const opcua = await requireInSlices<Opcua>('node-opcua', require, recordedOrder());
  installFastDateTimeDecoder();
  const route =
    (level: 'warning' | 'error') =>
    (...args: unknown[]) =>
      sink?.debug({ source: 'node-opcua', level }, format(...args));
  opcua.setWarningLogger(route('warning'));
  opcua.setErrorLogger(route('error'));
  return opcua;
}
