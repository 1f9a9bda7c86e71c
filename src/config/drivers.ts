// The semantic tag checks of the registered drivers (DriverModule.checkTag), by driver name.
import { checkTag } from '../../drivers/index.js';
import type { TagChecker } from './resolve.js';

const checker: TagChecker = (tag, device) => checkTag(device, tag);

export function tagCheckerOf(_driver: string): TagChecker {
  return checker;
}
