// Sparkplug edge nodes as the mappings declare them: mappings with the same group and edge node id
// form one node, each mapped device one Sparkplug device.
import type { BridgeConfig } from '../bridge/config.js';
import type { LoadedMapping } from '../config/types.js';
import type { NodeDevice, NodeSpec } from './node.js';

export interface PlannedNode extends NodeSpec {
  /** The bridge whose upstream carries the session; absent for the embedded broker. */
  bridge?: string;
}

export interface SparkplugProblem {
  /** Absolute path of the mapping file. */
  file: string;
  pointer: string;
  message: string;
}

/** The nodes the mappings declare, and what keeps them from being one consistent node each. */
export function planNodes(
  mappings: readonly LoadedMapping[],
  bridges: readonly Pick<BridgeConfig, 'name'>[],
): { nodes: PlannedNode[]; problems: SparkplugProblem[] } {
  const nodes = new Map<string, PlannedNode>();
  const problems: SparkplugProblem[] = [];
  const bridgeNames = new Set(bridges.map((b) => b.name));
  for (const mapping of mappings) {
    const sp = mapping.sparkplug;
    if (!sp) continue;
    const problem = (key: string, message: string) =>
      problems.push({ file: mapping.file, pointer: `/sparkplug/${key}`, message });
    if (sp.bridge !== undefined && !bridgeNames.has(sp.bridge))
      problem('bridge', `bridge "${sp.bridge}" is not defined in gateway.config.json`);
    const key = `${sp.groupId}/${sp.edgeNodeId}`;
    let node = nodes.get(key);
    if (!node) {
      node = { groupId: sp.groupId, edgeNodeId: sp.edgeNodeId, devices: [] };
      if (sp.primaryHostId !== undefined) node.primaryHostId = sp.primaryHostId;
      if (sp.bridge !== undefined) node.bridge = sp.bridge;
      nodes.set(key, node);
    } else {
      if (node.primaryHostId !== sp.primaryHostId)
        problem(
          'primaryHostId',
          `edge node ${key} is given two primary hosts: "${node.primaryHostId ?? 'none'}" and "${sp.primaryHostId ?? 'none'}"`,
        );
      if (node.bridge !== sp.bridge)
        problem(
          'bridge',
          `edge node ${key} is given two bridges: "${node.bridge ?? 'none'}" and "${sp.bridge ?? 'none'}"`,
        );
    }
    let device: NodeDevice | undefined = node.devices.find((d) => d.deviceId === sp.deviceId);
    if (device && device.source !== mapping.device) {
      problem(
        'deviceId',
        `Sparkplug device "${sp.deviceId}" of node ${key} is already device "${device.source}"`,
      );
      continue;
    }
    if (!device) {
      device = { deviceId: sp.deviceId, source: mapping.device, tags: [] };
      node.devices.push(device);
    }
    device.tags.push(...mapping.tags);
  }
  return { nodes: [...nodes.values()], problems };
}
