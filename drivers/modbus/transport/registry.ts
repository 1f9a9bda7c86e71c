// Devices that name the same transport share one link (one socket or serial port, one queue).
// The link's log lines carry `link`, bound here once (its calls do not repeat it).
import type { DriverLogger } from '../../types.js';
import type { TransportConfig } from '../config.js';
import { ModbusLink, type LinkListener, type LinkOptions } from './link.js';
import { describeTransport } from './open.js';

const links = new Map<string, ModbusLink>();

/** The link for a transport, created on first use; `release` closes it after its last user. */
export function acquireLink(
  transport: TransportConfig,
  options: LinkOptions,
  listener: LinkListener,
  log: DriverLogger,
): { link: ModbusLink; release(): Promise<void> } {
  const key = describeTransport(transport);
  let link = links.get(key);
  if (link === undefined || link.state === 'stopped') {
    link = new ModbusLink(transport, options, log.child({ link: key }));
    links.set(key, link);
  } else if (JSON.stringify(link.transport) !== JSON.stringify(transport)) {
    log.warn({ transport: key }, 'devices on one transport disagree on its settings; the first device wins');
  }
  const shared = link;
  shared.attach(listener);
  return {
    link: shared,
    release: async () => {
      await shared.detach(listener);
      if (shared.state === 'stopped' && links.get(key) === shared) links.delete(key);
    },
  };
}
