// The semantic tag checks of the registered drivers (DriverModule.checkTag), by driver name.
import type { TagChecker } from './resolve.js';

export function tagCheckerOf(_driver: string): TagChecker | undefined {
  return undefined;
}
