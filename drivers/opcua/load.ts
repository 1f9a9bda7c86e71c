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
/** What a client needs of node-opcua: ~60% of its CPU to load (no server, address space or nodesets). */
export type OpcuaClientApi = typeof import('node-opcua-client') &
  Pick<typeof import('node-opcua-certificate-manager'), 'OPCUACertificateManager'>;

/** Written beside the built load.js by scripts/build-opcua-load-order.mjs; absent under tsx. */
const LOAD_ORDERS = {
  'node-opcua': new URL('./load-order.generated.json', import.meta.url),
  'node-opcua-client': new URL('./load-order-client.generated.json', import.meta.url),
};

interface DebugSink {
  debug(obj: object, msg?: string): void;
}

let loading: Promise<Opcua> | undefined;
let loadingClient: Promise<OpcuaClientApi> | undefined;
let sink: DebugSink | undefined;

function recordedOrder(name: keyof typeof LOAD_ORDERS): LoadOrder | undefined {
  try {
    return JSON.parse(readFileSync(LOAD_ORDERS[name], 'utf8')) as LoadOrder;
  } catch {
    return undefined;
  }
}

/** All of node-opcua (the simulator's server; browsing and probing too). */
export function loadOpcua(log?: DebugSink): Promise<Opcua> {
  if (log && !sink) sink = log;
  loading ??= load<Opcua>('node-opcua');
  return loading;
}

/** The client side of node-opcua (the driver), or all of it if that is loaded or loading already. */
export function loadOpcuaClient(log?: DebugSink): Promise<OpcuaClientApi> {
  if (log && !sink) sink = log;
  loadingClient ??=
    loading ??
    load<OpcuaClientApi>('node-opcua-client').then((client) => ({
      ...client,
      OPCUACertificateManager: (
        nodeOpcuaRequire()(
          'node-opcua-certificate-manager',
        ) as typeof import('node-opcua-certificate-manager')
      ).OPCUACertificateManager,
    }));
  return loadingClient;
}

/** Finds node-opcua's own packages as node-opcua finds them (its dependencies, not ours). */
function nodeOpcuaRequire(): NodeJS.Require {
  return createRequire(createRequire(import.meta.url).resolve('node-opcua/package.json'));
}

async function load<T extends OpcuaClientApi>(name: keyof typeof LOAD_ORDERS): Promise<T> {
  const require = nodeOpcuaRequire();
  // Its outcome goes where node-opcua's own warning went: our logger, at debug.
  replaceRsaSelfCheck(require, (message) => sink?.debug({ source: 'node-opcua', level: 'warning' }, message));
  const opcua = await requireInSlices<T>(name, require, recordedOrder(name));
  installFastDateTimeDecoder();
  const route =
    (level: 'warning' | 'error') =>
    (...args: unknown[]) =>
      sink?.debug({ source: 'node-opcua', level }, format(...args));
  opcua.setWarningLogger(route('warning'));
  opcua.setErrorLogger(route('error'));
  return opcua;
}
