// Walks an OPC UA address space and builds a mapping skeleton: every variable with its node id,
// DataType, unit (AnalogItems) and access level (writable only where the server says so).
import type { BrowseResult, ClientSession, ReferenceDescription } from 'node-opcua';
import { OPCUA_TAG_TYPES, type OpcuaTagType } from './config.js';
import { builtInName } from './datatypes.js';

type Opcua = typeof import('node-opcua');

export interface BrowseOptions {
  root: string;
  depth: number;
  /** Skip the standard Server object (diagnostics) when walking from the Objects folder. */
  includeServer: boolean;
  maxNodes: number;
  batchSize: number;
}

export interface SkeletonTag {
  name: string;
  address: string;
  type?: OpcuaTagType;
  unit?: string;
  writable?: true;
  description?: string;
}

interface Found {
  nodeId: string;
  path: string[];
  isVariable: boolean;
}

const SERVER_OBJECT = 'i=2253';
const HAS_PROPERTY = 'i=46';
const NAME_BAD = /[/#+\s]+/g;

/** Tag names from browse paths: `Oven.Temperature`, unique, with MQTT wildcard characters replaced. */
function uniqueName(path: string[], taken: Set<string>): string {
  const base = path.join('.').replace(NAME_BAD, '_').replace(/^\$/, '_').slice(0, 120) || 'tag';
  let name = base;
  for (let i = 2; taken.has(name); i++) name = `${base}_${i}`;
  taken.add(name);
  return name;
}

async function browseAll(
  opcua: Opcua,
  session: ClientSession,
  nodeIds: string[],
): Promise<ReferenceDescription[][]> {
  const results = await session.browse(
    nodeIds.map((nodeId) => ({
      nodeId,
      referenceTypeId: 'HierarchicalReferences',
      includeSubtypes: true,
      browseDirection: opcua.BrowseDirection.Forward,
      nodeClassMask: opcua.NodeClassMask.Object | opcua.NodeClassMask.Variable,
      resultMask: 63,
    })),
  );
  const out: ReferenceDescription[][] = [];
  for (const result of results) {
    const refs = [...(result.references ?? [])];
    let cp: Buffer | null | undefined = result.continuationPoint;
    while (cp && cp.length > 0) {
      const more: BrowseResult[] = await session.browseNext([cp], false);
      refs.push(...(more[0]?.references ?? []));
      cp = more[0]?.continuationPoint;
    }
    out.push(refs);
  }
  return out;
}

export async function browseSkeleton(
  opcua: Opcua,
  session: ClientSession,
  options: BrowseOptions,
): Promise<{ tags: SkeletonTag[]; truncated: boolean }> {
  const root = opcua.resolveNodeId(options.root).toString();
  const serverObject = opcua.resolveNodeId(SERVER_OBJECT).toString();
  const hasProperty = opcua.resolveNodeId(HAS_PROPERTY).toString();
  const seen = new Set<string>([root]);
  const variables: Found[] = [];
  const unitNodes = new Map<string, string>(); // variable node id -> its EngineeringUnits property
  let level: Found[] = [{ nodeId: root, path: [], isVariable: false }];
  let truncated = false;

  for (let depth = 0; depth < options.depth && level.length > 0 && !truncated; depth++) {
    const next: Found[] = [];
    for (let i = 0; i < level.length; i += options.batchSize) {
      const batch = level.slice(i, i + options.batchSize);
      const refsPerNode = await browseAll(
        opcua,
        session,
        batch.map((f) => f.nodeId),
      );
      refsPerNode.forEach((refs, j) => {
        const parent = batch[j]!;
        for (const ref of refs) {
          const id = ref.nodeId.toString();
          const isProperty = ref.referenceTypeId.toString() === hasProperty;
          if (isProperty) {
            if (parent.isVariable && ref.browseName.name === 'EngineeringUnits')
              unitNodes.set(parent.nodeId, id);
            continue;
          }
          if (seen.has(id)) continue;
          if (id === serverObject && !options.includeServer) continue;
          seen.add(id);
          const found: Found = {
            nodeId: id,
            path: [...parent.path, ref.browseName.name ?? id],
            isVariable: ref.nodeClass === opcua.NodeClass.Variable,
          };
          if (found.isVariable) {
            if (variables.length >= options.maxNodes) {
              truncated = true;
              continue;
            }
            variables.push(found);
          }
          next.push(found);
        }
      });
    }
    level = next;
  }
  // Units of the variables whose children were not browsed (at the last level) stay unknown.
  return {
    tags: await describeVariables(opcua, session, variables, unitNodes, options.batchSize),
    truncated,
  };
}

async function describeVariables(
  opcua: Opcua,
  session: ClientSession,
  variables: Found[],
  unitNodes: Map<string, string>,
  batchSize: number,
): Promise<SkeletonTag[]> {
  const A = opcua.AttributeIds;
  const attrs = [A.DataType, A.ValueRank, A.AccessLevel, A.UserAccessLevel, A.Description];
  const builtInOf = new Map<string, OpcuaTagType | undefined>();
  const taken = new Set<string>();
  const tags: SkeletonTag[] = [];
  for (let i = 0; i < variables.length; i += batchSize) {
    const batch = variables.slice(i, i + batchSize);
    const values = await session.read(
      batch.flatMap((v) => attrs.map((attributeId) => ({ nodeId: v.nodeId, attributeId }))),
    );
    const unitIds = batch.map((v) => unitNodes.get(v.nodeId));
    const unitReads = unitIds
      .filter((u): u is string => !!u)
      .map((nodeId) => ({ nodeId, attributeId: A.Value }));
    const unitValues = unitReads.length > 0 ? await session.read(unitReads) : [];
    let u = 0;
    for (let j = 0; j < batch.length; j++) {
      const v = batch[j]!;
      const [dataType, , access, userAccess, description] = values.slice(
        j * attrs.length,
        (j + 1) * attrs.length,
      );
      const tag: SkeletonTag = { name: uniqueName(v.path, taken), address: v.nodeId };
      if (dataType?.statusCode.isGood()) {
        const typeId = dataType.value.value as import('node-opcua').NodeId;
        const key = typeId.toString();
        if (!builtInOf.has(key)) {
          // Built-in DataTypes are ns=0;i=1..25; for others ask the server to walk the type's supertypes.
          const direct = typeId.namespace === 0 && typeof typeId.value === 'number' && typeId.value <= 25;
          const id = direct
            ? typeId.value
            : await session.getBuiltInDataType(opcua.resolveNodeId(v.nodeId)).catch(() => undefined);
          const name = id === undefined ? undefined : builtInName(Number(id));
          builtInOf.set(
            key,
            name && (OPCUA_TAG_TYPES as readonly string[]).includes(name)
              ? (name as OpcuaTagType)
              : undefined,
          );
        }
        const type = builtInOf.get(key);
        if (type) tag.type = type;
      }
      // CurrentWrite (bit 1) in both the node's and our user's access level.
      const canWrite = (dv: typeof access) =>
        dv?.statusCode.isGood() === true && (Number(dv.value.value) & 0x02) !== 0;
      if (canWrite(access) && canWrite(userAccess)) tag.writable = true;
      const text = (description?.value.value as { text?: string } | null)?.text;
      if (text) tag.description = text;
      if (unitIds[j]) {
        const eu = unitValues[u++];
        const unit = (eu?.value.value as { displayName?: { text?: string } } | null)?.displayName?.text;
        if (unit) tag.unit = unit;
      }
      tags.push(tag);
    }
  }
  return tags;
}

/** One node below a browsed node, as the console's browse tree shows it. */
export interface BrowseChild {
  nodeId: string;
  browseName: string;
  nodeClass: 'Object' | 'Variable';
  dataType?: OpcuaTagType;
  unit?: string;
  writable?: true;
  hasChildren: boolean;
}

/**
 * The objects and variables directly below one node (default: the Objects folder, without the
 * standard Server object), each with whether it has children of its own; variables also with
 * their DataType, unit and writability, found the same way as the mapping skeleton's.
 */
export async function browseChildren(
  opcua: Opcua,
  session: ClientSession,
  node = 'i=85',
  maxChildren = 1000,
): Promise<BrowseChild[]> {
  const parent = opcua.resolveNodeId(node).toString();
  const serverObject = opcua.resolveNodeId(SERVER_OBJECT).toString();
  const objectsFolder = opcua.resolveNodeId('i=85').toString();
  const hasProperty = opcua.resolveNodeId(HAS_PROPERTY).toString();
  // A browse of an unknown node answers "no references"; say it is unknown instead.
  const exists = await session.read({ nodeId: parent, attributeId: opcua.AttributeIds.NodeClass });
  if (!exists.statusCode.isGood()) throw new Error(`node ${node}: ${exists.statusCode.name}`);
  const [refs = []] = await browseAll(opcua, session, [parent]);
  const children = refs
    .filter((ref) => ref.referenceTypeId.toString() !== hasProperty)
    .filter((ref) => ref.nodeId.toString() !== serverObject || parent !== objectsFolder)
    .slice(0, maxChildren);
  if (children.length === 0) return [];
  const grandchildren = await browseAll(
    opcua,
    session,
    children.map((c) => c.nodeId.toString()),
  );
  const unitNodes = new Map<string, string>();
  const variables: Found[] = [];
  const out: BrowseChild[] = children.map((ref, i) => {
    const nodeId = ref.nodeId.toString();
    const below = grandchildren[i] ?? [];
    const unit = below.find(
      (r) => r.referenceTypeId.toString() === hasProperty && r.browseName.name === 'EngineeringUnits',
    );
    if (unit) unitNodes.set(nodeId, unit.nodeId.toString());
    const isVariable = ref.nodeClass === opcua.NodeClass.Variable;
    if (isVariable) variables.push({ nodeId, path: [ref.browseName.name ?? nodeId], isVariable });
    return {
      nodeId,
      browseName: ref.browseName.name ?? nodeId,
      nodeClass: isVariable ? 'Variable' : 'Object',
      hasChildren: below.some((r) => r.referenceTypeId.toString() !== hasProperty),
    };
  });
  const described = await describeVariables(opcua, session, variables, unitNodes, 500);
  const byNode = new Map(described.map((t) => [t.address, t]));
  for (const child of out) {
    const tag = byNode.get(child.nodeId);
    if (!tag) continue;
    if (tag.type) child.dataType = tag.type;
    if (tag.unit) child.unit = tag.unit;
    if (tag.writable) child.writable = true;
  }
  return out;
}
