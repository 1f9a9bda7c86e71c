// The built-in `press` profile: a hydraulic press whose values move like a real one. The layout is
// documented in drivers/modbus/README.md and mapped by mappings/press1.json.
import type { UnitMemory } from './memory.js';
import { registerBytes } from './values.js';

export const PRESS_LAYOUT = {
  temperature: 100, // hr, float32 ABCD, degC
  pressure: 102, // hr, uint16, 0.1 bar
  cycles: 104, // hr, uint32 ABCD, count
  setpoint: 200, // hr, int16, degC (writable)
  running: 0, // coil (writable)
  doorClosed: 0, // di
  motorCurrent: 0, // ir, uint16, 0.01 A
} as const;

const AMBIENT = 25;
const HEAT_TIME_CONSTANT_S = 20;
const CYCLE_S = 2;

export class PressProfile {
  private temperature: number;
  private pressure = 100;
  private cycles = 0;
  private cyclePhase = 0;

  constructor(private readonly memory: UnitMemory) {
    const m = memory;
    m.define('hr', PRESS_LAYOUT.temperature, 2);
    m.define('hr', PRESS_LAYOUT.pressure, 1);
    m.define('hr', PRESS_LAYOUT.cycles, 2);
    m.define('hr', PRESS_LAYOUT.setpoint, 1);
    m.define('coil', PRESS_LAYOUT.running, 1);
    m.define('di', PRESS_LAYOUT.doorClosed, 1);
    m.define('ir', PRESS_LAYOUT.motorCurrent, 1);
    m.setRegisters('hr', PRESS_LAYOUT.setpoint, registerBytes('int16', 200, 'ABCD'));
    m.setBit('coil', PRESS_LAYOUT.running, true);
    m.setBit('di', PRESS_LAYOUT.doorClosed, true);
    this.temperature = 200;
    this.store(0);
  }

  update(nowMs: number, dtMs: number): void {
    const running = this.memory.coil[PRESS_LAYOUT.running] === 1;
    const setpoint = this.memory.hr.readInt16BE(PRESS_LAYOUT.setpoint * 2);
    const dt = dtMs / 1000;
    const target = running ? setpoint : AMBIENT;
    this.temperature += ((target - this.temperature) * dt) / HEAT_TIME_CONSTANT_S;
    if (running) {
      this.pressure = Math.min(140, Math.max(60, this.pressure + (Math.random() - 0.5) * 4));
      this.cyclePhase += dt;
      while (this.cyclePhase >= CYCLE_S) {
        this.cyclePhase -= CYCLE_S;
        this.cycles = (this.cycles + 1) % 2 ** 32;
      }
    } else {
      this.pressure = Math.max(0, this.pressure - this.pressure * dt * 0.5);
    }
    this.store(nowMs);
  }

  private store(nowMs: number): void {
    const running = this.memory.coil[PRESS_LAYOUT.running] === 1;
    // A slow wobble on top of the heating curve: a live value that visibly moves around its setpoint.
    const wobble = running ? 1.5 * Math.sin((2 * Math.PI * nowMs) / 30_000) : 0;
    const m = this.memory;
    m.setRegisters(
      'hr',
      PRESS_LAYOUT.temperature,
      registerBytes('float32', this.temperature + wobble, 'ABCD'),
    );
    m.setRegisters('hr', PRESS_LAYOUT.pressure, registerBytes('uint16', this.pressure * 10, 'ABCD'));
    m.setRegisters('hr', PRESS_LAYOUT.cycles, registerBytes('uint32', this.cycles, 'ABCD'));
    m.setRegisters(
      'ir',
      PRESS_LAYOUT.motorCurrent,
      registerBytes('uint16', running ? 1250 + Math.random() * 100 : 0, 'ABCD'),
    );
  }
}
