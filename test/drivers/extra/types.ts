// The config blocks of the test-only tank driver, after their schemas' defaults.
export interface TankDeviceConfig {
  id: string;
  host: string;
  port: number;
  timeoutMs: number;
}

export interface TankSimulatorConfig {
  host: string;
  port: number;
  stepMs: number;
}
