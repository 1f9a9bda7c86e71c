// Node id syntax check without loading node-opcua (validate and config load stay fast).

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** Why `text` is not a node id (`ns=2;s=Oven.Temperature`), or undefined when it is one. */
export function nodeIdProblem(text: string): string | undefined {
  let rest = text;
  const ns = /^ns=(\d+);/.exec(rest);
  if (ns) {
    if (Number(ns[1]) > 65535) return `namespace index ${ns[1]} above 65535 in node id "${text}"`;
    rest = rest.slice(ns[0].length);
  } else if (rest.startsWith('nsu=')) {
    const end = rest.indexOf(';');
    if (end <= 4) return `namespace URI missing in node id "${text}" (expected nsu=URI;s=...)`;
    rest = rest.slice(end + 1);
  }
  const m = /^([isgb])=(.*)$/s.exec(rest);
  if (!m)
    return `"${text}" is not a node id (expected ns=<index>;<i|s|g|b>=<identifier>, e.g. ns=2;s=Oven.Temperature)`;
  const [, kind, id] = m as unknown as [string, string, string];
  if (id.length === 0) return `empty identifier in node id "${text}"`;
  switch (kind) {
    case 'i':
      if (!/^\d+$/.test(id) || Number(id) > 0xffffffff)
        return `numeric identifier "${id}" is not a UInt32 in node id "${text}"`;
      return undefined;
    case 'g':
      return GUID.test(id) ? undefined : `"${id}" is not a GUID in node id "${text}"`;
    case 'b':
      return BASE64.test(id) ? undefined : `"${id}" is not base64 in node id "${text}"`;
    default:
      return undefined;
  }
}
