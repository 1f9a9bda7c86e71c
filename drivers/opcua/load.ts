// node-opcua, loaded on first use (it costs a second or two and ~100 MB), with its own console output
// routed into our logger at debug level: the driver reports what matters in its own words.
import { format } from 'node:util';
import { installFastDateTimeDecoder } from './datetime.js';

export type Opcua = typeof import('node-opcua');

interface DebugSink {
  debug(obj: object, msg?: string): void;
}

let loading: Promise<Opcua> | undefined;
let sink: DebugSink | undefined;

export function loadOpcua(log?: DebugSink): Promise<Opcua> {
  if (log && !sink) sink = log;
  loading ??= import('node-opcua').then((opcua) => {
    installFastDateTimeDecoder();
    const route =
      (level: 'warning' | 'error') =>
      (...args: unknown[]) =>
        sink?.debug({ source: 'node-opcua', level }, format(...args));
    opcua.setWarningLogger(route('warning'));
    opcua.setErrorLogger(route('error'));
    return opcua;
  });
  return loading;
}
