// Checks of an OPC UA tag that its schema cannot make: the node id's syntax, min/max on numbers
// only, a percent deadband within 0..100, and a server-side deadband only where it is subscribed.
import type { TagConfig, TagProblem } from '../types.js';
import { OPCUA_NUMERIC_TYPES, type OpcuaDeviceConfig } from './config.js';
import { nodeIdProblem } from './nodeid.js';

const NUMERIC: ReadonlySet<string> = new Set(OPCUA_NUMERIC_TYPES);

export function checkTag(tag: TagConfig, _device: OpcuaDeviceConfig): TagProblem[] {
  const problems: TagProblem[] = [];
  const idProblem = nodeIdProblem(tag.address);
  if (idProblem) problems.push({ pointer: '/address', message: idProblem });
  const type = typeof tag.type === 'string' ? tag.type : 'auto';
  if ((tag.min !== undefined || tag.max !== undefined) && type !== 'auto' && !NUMERIC.has(type)) {
    problems.push({
      pointer: tag.min !== undefined ? '/min' : '/max',
      message: `min/max apply to numbers, not ${type}`,
    });
  }
  if (tag.min !== undefined && tag.max !== undefined && tag.min > tag.max) {
    problems.push({ pointer: '/min', message: `min ${tag.min} above max ${tag.max}` });
  }
  if (tag.deadbandType === 'percent' && typeof tag.deadbandValue === 'number' && tag.deadbandValue > 100) {
    problems.push({
      pointer: '/deadbandValue',
      message: `a percent deadband is 0..100, not ${tag.deadbandValue}`,
    });
  }
  if (tag.mode === 'poll' && tag.deadbandType !== 'none') {
    problems.push({ pointer: '/deadbandType', message: 'a server-side deadband needs mode "subscribe"' });
  }
  return problems;
}
