// Our own Modbus simulator: the demo press and scripted signals, served over Modbus TCP, RTU over
// TCP, or RTU on a serial path (one end of a socat pty pair in tests), with fault injection.
import type { AddressInfo } from 'node:net';
import type { DriverLogger, RunningSimulator } from '../../types.js';
import type { ModbusSimulatorConfig } from '../config.js';
import { listenTcp, serveStream, type ServeStats } from './server.js';
import { SimUnits } from './units.js';

/** `address`: `modbus-tcp://host:port`, or `modbus-rtu://path` on a serial line. */
export interface RunningModbusSimulator extends RunningSimulator {
  host: string;
  /** The TCP port (0 in serial mode). */
  port: number;
  /** The serial path in mode rtu. */
  path?: string;
  stats: ServeStats;
  /** The units' memory, for tests that set or inspect values directly. */
  units: SimUnits;
}

export async function startModbusSimulator(
  config: ModbusSimulatorConfig,
  log: DriverLogger,
): Promise<RunningModbusSimulator> {
  const units = new SimUnits(config);
  const stats: ServeStats = { requests: 0, malformed: 0, connections: 0 };
  units.start();
  try {
    if (config.mode === 'rtu') {
      if (!config.path) throw new Error('modbus simulator: mode rtu needs a serial "path"');
      const { SerialPort } = await import('serialport');
      const port = new SerialPort({ path: config.path, baudRate: config.baudRate, autoOpen: false });
      await new Promise<void>((resolve, reject) => port.open((err) => (err ? reject(err) : resolve())));
      serveStream(port, config, units, stats);
      log.info(
        { path: config.path, units: config.unitIds, profile: config.profile },
        'modbus RTU simulator listening',
      );
      return {
        address: `modbus-rtu://${config.path}`,
        host: '',
        port: 0,
        path: config.path,
        stats,
        units,
        close: async () => {
          units.stop();
          if (port.isOpen) await new Promise<void>((resolve) => port.close(() => resolve()));
        },
      };
    }
    const { server, sockets } = await listenTcp(config, units, stats);
    const address = server.address() as AddressInfo;
    log.info(
      { host: address.address, port: address.port, mode: config.mode, units: config.unitIds },
      'modbus simulator listening',
    );
    return {
      address: `modbus-tcp://${address.address}:${address.port}`,
      host: address.address,
      port: address.port,
      stats,
      units,
      close: async () => {
        units.stop();
        for (const socket of sockets) socket.destroy();
        await new Promise<void>((resolve) => server.close(() => resolve()));
      },
    };
  } catch (err) {
    units.stop();
    throw err;
  }
}
