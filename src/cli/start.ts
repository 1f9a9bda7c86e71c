// `tagwire start [-c FILE]`: validate, start every part, print where things run, stop cleanly on a signal.
import { loadConfigOrReport } from './config-errors.js';
import { systemdNotifier } from '../ops/sd-notify.js';
import { DataFolderTooNew } from '../store/data-folder.js';
import { createLogger } from '../log.js';
import { SimulatorGroup } from '../simulator-group.js';
import { applyHeapPolicy, heapPolicyFrom } from '../ops/heap-policy.js';
import { banner } from './banner.js';
import { configPath, CONFIG_OPTION, parseCommand } from './options.js';
import { count } from './words.js';

const USAGE =
  'usage: tagwire start [-c FILE] [--no-simulators] [--no-watch]\n' +
  "  --no-simulators  do not run the config's simulators block\n" +
  '  --no-watch       do not apply edits of the config and mapping files while running\n';

export async function main(args: readonly string[]): Promise<number> {
  const startedAt = performance.now();
  const parsed = parseCommand(args, {
    name: 'start',
    usage: USAGE,
    options: {
      ...CONFIG_OPTION,
      'no-simulators': { type: 'boolean' },
      'no-watch': { type: 'boolean' },
    },
  });
  if (typeof parsed === 'number') return parsed;
  const { values } = parsed;
  const heap = heapPolicyFrom(process.env);
  if ('error' in heap) {
    process.stderr.write(`tagwire: not started: ${heap.error}\n`);
    return 1;
  }
  const loaded = await loadConfigOrReport(
    configPath(values.config),
    (problems) => `tagwire: not started: ${count(problems.length, 'problem')} in the configuration`,
  );
  if (!loaded) return 1;

  const log = createLogger(loaded.config.gateway.logLevel);
  // Signals are ours from here on. One that arrives while the simulators and the gateway start
  // (values flow before the slowest simulator is up) gets a clean stop once the start settles; a
  // second one gives up at once, as it does while stopping.
  let stopOnSignal: ((signal: NodeJS.Signals) => void) | undefined;
  let signalDuringStart: NodeJS.Signals | undefined;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (stopOnSignal) return stopOnSignal(signal);
    if (signalDuringStart) {
      process.stderr.write(`tagwire: ${signal} again, exiting without a clean stop\n`);
      process.exit(1);
    }
    signalDuringStart = signal;
    log.info({ signal }, 'stopping once the start has settled');
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  // The simulators first (the OPC UA one works ~1.7 s in its own thread), so their start overlaps
  // the gateway's loading; the gateway adopts and stops them.
  const simulators = values['no-simulators']
    ? false
    : SimulatorGroup.start(loaded.config.simulators, log.child({ part: 'sim' }), undefined, loaded.drivers);
  // Loaded once the config is known good: a config slip is reported without loading the gateway.
  const { Gateway } = await import('../gateway.js');
  const gateway = new Gateway(loaded, {
    log,
    simulators,
    watch: !values['no-watch'],
  });
  try {
    await gateway.start();
  } catch (err) {
    // A port in use, a missing permission or a too-new data folder is the user's to fix: the one
    // clear line below, the stack only at debug level. Anything else is a fault worth its stack.
    const cause = (err as Error).cause as NodeJS.ErrnoException | undefined;
    const code = (err as NodeJS.ErrnoException).code ?? cause?.code;
    const plain =
      code === 'EADDRINUSE' ||
      code === 'EACCES' ||
      code === 'EADDRNOTAVAIL' ||
      err instanceof DataFolderTooNew;
    if (plain) log.debug({ err }, 'gateway failed to start');
    else log.fatal({ err }, 'gateway failed to start');
    process.stderr.write(`tagwire: not started: ${(err as Error).message}\n`);
    return 1;
  }
  if (!signalDuringStart) process.stdout.write(banner(gateway, performance.now() - startedAt) + '\n');
  // Once started: V8's flags are process-wide, and 25% growth during the start made the OPC UA
  // simulator's thread (node-opcua's import and address space) collect far more often (~10% longer).
  applyHeapPolicy(heap);
  // Under systemd (Type=notify): ready now, then watchdog pings from this event loop.
  const notifier = systemdNotifier({ log });
  notifier?.ready(`serving ${loaded.config.devices.length} devices`);

  // The first signal stops cleanly; a second one while stopping gives up at once.
  return new Promise<number>((resolve) => {
    let stopping = false;
    stopOnSignal = (signal: NodeJS.Signals): void => {
      if (stopping) {
        process.stderr.write(`tagwire: ${signal} again, exiting without a clean stop\n`);
        process.exit(1);
      }
      stopping = true;
      notifier?.stopping();
      log.info({ signal }, 'stopping');
      gateway.stop().then(
        () => {
          log.info('stopped');
          resolve(0);
        },
        (err: unknown) => {
          log.error({ err }, 'error while stopping');
          resolve(1);
        },
      );
    };
    if (signalDuringStart) stopOnSignal(signalDuringStart);
  });
}
