// Device health for dashboards and the plant: each status goes to `$SYS/tagwire/devices/{id}`,
// retained, when it changes and on a timer (so its counters never go stale); a change of state is
// logged once and told to Sparkplug.
import type { DeviceStatus } from '../drivers/types.js';
import type { LocalBroker } from './broker/api.js';
import type { Logger } from './log.js';

export interface DeviceStatusHooks {
  /** A device's connection state changed (Sparkplug births and deaths follow it). */
  onStateChange(status: DeviceStatus): void;
}

export class DeviceStatusBoard {
  /** The last state published per device, to tell a change of state from a refresh. */
  private readonly states = new Map<string, DeviceStatus['state']>();
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly broker: () => Pick<LocalBroker, 'publish'> | undefined,
    private readonly log: Logger,
    private readonly hooks: DeviceStatusHooks,
  ) {}

  /** A driver told its status. */
  update(status: DeviceStatus): void {
    const previous = this.states.get(status.deviceId);
    if (previous !== status.state) {
      this.hooks.onStateChange(status);
      // A connected or cleanly stopped device has no error to tell, whatever it last saw.
      const quiet = status.state === 'connected' || status.state === 'stopped';
      this.log.info(
        { device: status.deviceId, state: status.state, ...(quiet ? {} : { error: status.lastError }) },
        'device state',
      );
    }
    this.publish(status);
  }

  /** Republishes every `statuses()` each `intervalSec` (0: never). */
  startTimer(intervalSec: number, statuses: () => Iterable<DeviceStatus>): void {
    if (intervalSec <= 0) return;
    this.timer = setInterval(() => {
      for (const status of statuses()) this.publish(status);
    }, intervalSec * 1000);
    this.timer.unref();
  }

  stopTimer(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** A device left the config: its retained status goes too. */
  clear(id: string): void {
    this.states.delete(id);
    this.broker()?.publish({
      topic: `$SYS/tagwire/devices/${id}`,
      payload: Buffer.alloc(0),
      qos: 0,
      retain: true,
    });
  }

  private publish(status: DeviceStatus): void {
    this.states.set(status.deviceId, status.state);
    this.broker()?.publish({
      topic: `$SYS/tagwire/devices/${status.deviceId}`,
      payload: Buffer.from(JSON.stringify(status)),
      qos: 0,
      retain: true,
    });
  }
}
