// The simulated units of one simulator: memory per unit id, the press profile, scripted signals,
// and the clock that moves their values.
import type { ModbusSimulatorConfig } from '../config.js';
import { UnitMemory } from './memory.js';
import { PressProfile } from './press.js';
import { createSignal, type Signal } from './signals.js';

export interface SimUnit {
  memory: UnitMemory;
  press?: PressProfile;
  signals: Signal[];
}

export class SimUnits {
  readonly units = new Map<number, SimUnit>();
  private timer?: NodeJS.Timeout;
  private last = performance.now();

  constructor(private readonly config: ModbusSimulatorConfig) {
    for (const unitId of config.unitIds) {
      const memory = new UnitMemory(config.unmapped === 'zero');
      const unit: SimUnit = { memory, signals: [] };
      if (config.profile === 'press') unit.press = new PressProfile(memory);
      for (const signal of config.signals) {
        if (signal.unitId === undefined || signal.unitId === unitId)
          unit.signals.push(createSignal(signal, memory));
      }
      this.units.set(unitId, unit);
    }
  }

  /** The unit that answers this id, or undefined when it stays silent (unknown, or silenced by a fault). */
  answering(unitId: number): SimUnit | undefined {
    if (this.config.faults.silentUnits.includes(unitId)) return undefined;
    return this.units.get(unitId);
  }

  start(): void {
    this.timer = setInterval(() => this.tick(), this.config.periodMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private tick(): void {
    const now = performance.now();
    const dt = now - this.last;
    this.last = now;
    const wall = Date.now();
    for (const unit of this.units.values()) {
      unit.press?.update(wall, dt);
      for (const signal of unit.signals) signal.update(wall);
    }
  }
}
