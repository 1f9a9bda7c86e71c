// The Sparkplug B sections of the mappings, checked together: mappings with the same group and
// edge node id form one node, so they must agree on its primary host and bridge, and give each
// Sparkplug device id to one tagwire device. src/sparkplug builds its nodes from mappings that
// passed these checks.
import type { LoadedMapping } from './types.js';

export interface SparkplugProblem {
  /** Absolute path of the mapping file. */
  file: string;
  pointer: string;
  message: string;
}

interface NodeSeen {
  primaryHostId: string | undefined;
  bridge: string | undefined;
  /** Tagwire device of each Sparkplug device id. */
  devices: Map<string, string>;
}

export function sparkplugProblems(
  mappings: readonly LoadedMapping[],
  bridges: readonly { name: string }[],
): SparkplugProblem[] {
  const problems: SparkplugProblem[] = [];
  const bridgeNames = new Set(bridges.map((b) => b.name));
  const nodes = new Map<string, NodeSeen>();
  for (const mapping of mappings) {
    const sp = mapping.sparkplug;
    if (!sp) continue;
    const problem = (key: string, message: string) =>
      problems.push({ file: mapping.file, pointer: `/sparkplug/${key}`, message });
    if (sp.bridge !== undefined && !bridgeNames.has(sp.bridge))
      problem('bridge', `bridge "${sp.bridge}" is not defined in gateway.config.json`);
    const key = `${sp.groupId}/${sp.edgeNodeId}`;
    const node = nodes.get(key);
    if (!node) {
      nodes.set(key, {
        primaryHostId: sp.primaryHostId,
        bridge: sp.bridge,
        devices: new Map([[sp.deviceId, mapping.device]]),
      });
      continue;
    }
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
    const source = node.devices.get(sp.deviceId);
    if (source !== undefined && source !== mapping.device)
      problem('deviceId', `Sparkplug device "${sp.deviceId}" of node ${key} is already device "${source}"`);
    else node.devices.set(sp.deviceId, mapping.device);
  }
  return problems;
}
