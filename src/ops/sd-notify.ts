// systemd's notify protocol (Type=notify, WatchdogSec=): READY=1 once the gateway serves, then
// WATCHDOG=1 from a timer on the event loop, so a stalled loop stops pinging and systemd restarts it.
//
// The messages are datagrams on the unix socket named by NOTIFY_SOCKET, and Node has no unix
// datagram sockets. Rather than a native addon (one more binary to build per architecture and keep
// loading across Node releases, in the bundle too), each message is sent by spawning systemd's own
// `systemd-notify`, present wherever systemd runs the service. The unit says NotifyAccess=all
// because the sender is a child process; systemd-notify waits (a barrier, systemd >= 246) until
// systemd has taken the message, so the child never exits before systemd can tell whose it is.
import { spawn } from 'node:child_process';
import type { Logger } from '../log.js';

export interface SystemdNotifier {
  /** Tells systemd the service is up; starts the watchdog pings when the unit asked for them. */
  ready(status: string): void;
  /** Tells systemd a clean stop has begun, and stops pinging. */
  stopping(): void;
}

export interface NotifyOptions {
  log: Logger;
  env?: NodeJS.ProcessEnv;
  /** The systemd-notify program (tests may point at another path). */
  command?: string;
}

/** The watchdog period systemd asks for, in ms, when it is meant for this process. */
export function watchdogMs(env: NodeJS.ProcessEnv, pid = process.pid): number | undefined {
  const usec = Number(env.WATCHDOG_USEC);
  if (!Number.isFinite(usec) || usec <= 0) return undefined;
  if (env.WATCHDOG_PID && Number(env.WATCHDOG_PID) !== pid) return undefined;
  return usec / 1000;
}

/** A notifier when systemd runs us with NOTIFY_SOCKET set, else undefined (nothing to tell). */
export function systemdNotifier(options: NotifyOptions): SystemdNotifier | undefined {
  const env = options.env ?? process.env;
  if (!env.NOTIFY_SOCKET) return undefined;
  const command = options.command ?? 'systemd-notify';
  const log = options.log;
  let warned = false;
  let pinging = false;
  let timer: NodeJS.Timeout | undefined;

  const send = (fields: string[], done?: () => void): void => {
    const child = spawn(command, fields, { stdio: 'ignore', env });
    const fail = (why: string): void => {
      if (!warned) log.warn({ command, fields }, `systemd notification failed: ${why}`);
      warned = true;
    };
    child.once('error', (err) => {
      fail(err.message);
      done?.();
    });
    child.once('exit', (code) => {
      if (code !== 0) fail(`${command} exited with ${code}`);
      done?.();
    });
  };

  return {
    ready(status) {
      send(['READY=1', `STATUS=${status}`]);
      const period = watchdogMs(env);
      if (period === undefined || timer) return;
      // Half the period, as sd_watchdog_enabled(3) advises; a ping still in flight is not doubled.
      timer = setInterval(
        () => {
          if (pinging) return;
          pinging = true;
          send(['WATCHDOG=1'], () => (pinging = false));
        },
        Math.max(100, period / 2),
      );
      timer.unref();
    },
    stopping() {
      if (timer) clearInterval(timer);
      timer = undefined;
      send(['STOPPING=1']);
    },
  };
}
