// Doctor checks of the devices: each device is probed by its driver's module (DriverModule.probe:
// a Modbus device's serial port and first tag, an OPC UA endpoint and its certificate...).
import { builtinDrivers } from '../../../drivers/index.js';
import type { DriverModule } from '../../../drivers/types.js';
import type { GatewayConfig, LoadedMapping } from '../../config/types.js';
import { warn, type Finding } from './check.js';

export async function checkDevices(
  config: GatewayConfig,
  mappings: readonly LoadedMapping[],
  drivers: readonly DriverModule[] = builtinDrivers,
): Promise<Finding[]> {
  const findings: Finding[] = [];
  for (const device of config.devices) {
    if (device.enabled === false) {
      findings.push(
        warn(
          `${device.driver} ${device.id}`,
          'disabled: not checked, not polled',
          'set "enabled": true once its settings are right',
        ),
      );
      continue;
    }
    const module = drivers.find((d) => d.name === device.driver);
    if (!module?.probe) continue;
    const tags = mappings.filter((m) => m.device === device.id).flatMap((m) => m.tags);
    findings.push(...(await module.probe(device, { tags, dataDir: config.gateway.dataDir })));
  }
  return findings;
}
