// Sparkplug edge nodes as the mappings declare them: mappings with the same group and edge node id
// form one node, each mapped device one Sparkplug device. The config loader has refused mappings
// that disagree about a node (src/config/sparkplug-checks.ts); here the first one seen wins.
import type { LoadedMapping } from '../config/types.js';
import type { NodeSpec } from './node.js';

export interface PlannedNode extends NodeSpec {
  /** The bridge whose upstream carries the session; absent for the embedded broker. */
  bridge?: string;
}

/** The nodes the mappings declare. */
export function planNodes(mappings: readonly LoadedMapping[]): PlannedNode[] {
  const nodes = new Map<string, PlannedNode>();
  for (const mapping of mappings) {
    const sp = mapping.sparkplug;
    if (!sp) continue;
    const key = `${sp.groupId}/${sp.edgeNodeId}`;
    let node = nodes.get(key);
    if (!node) {
      node = { groupId: sp.groupId, edgeNodeId: sp.edgeNodeId, devices: [] };
      if (sp.primaryHostId !== undefined) node.primaryHostId = sp.primaryHostId;
      if (sp.bridge !== undefined) node.bridge = sp.bridge;
      nodes.set(key, node);
    }
    let device = node.devices.find((d) => d.deviceId === sp.deviceId);
    if (device && device.source !== mapping.device) continue;
    if (!device) {
      device = { deviceId: sp.deviceId, source: mapping.device, tags: [] };
      node.devices.push(device);
    }
    device.tags.push(...mapping.tags);
  }
  return [...nodes.values()];
}
