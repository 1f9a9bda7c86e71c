// Picking tags from an OPC UA device's address space: a tree browsed level by level through the
// gateway, variables picked with a checkbox, then added to the mapping being edited.
import { useState } from 'preact/hooks';
import { api, type BrowseNode } from '../api';
import { tagNameFrom, type NewTag } from '../mapping-edit';

type Children =
  { state: 'loading' } | { state: 'error'; error: string } | { state: 'done'; nodes: BrowseNode[] };

export function BrowsePanel({ device, onAdd }: { device: string; onAdd: (tags: NewTag[]) => void }) {
  const [children, setChildren] = useState(new Map<string, Children>());
  const [open, setOpen] = useState(new Set<string>());
  const [picked, setPicked] = useState(new Map<string, BrowseNode>());
  const [started, setStarted] = useState(false);

  function load(node: string) {
    setChildren((m) => new Map(m).set(node, { state: 'loading' }));
    const q = node ? `?node=${encodeURIComponent(node)}` : '';
    api<BrowseNode[]>(`/api/devices/${encodeURIComponent(device)}/browse${q}`)
      .then((nodes) => setChildren((m) => new Map(m).set(node, { state: 'done', nodes })))
      .catch((err: Error) =>
        setChildren((m) => new Map(m).set(node, { state: 'error', error: err.message })),
      );
  }

  function toggle(node: BrowseNode) {
    const next = new Set(open);
    if (next.has(node.nodeId)) next.delete(node.nodeId);
    else {
      next.add(node.nodeId);
      if (!children.has(node.nodeId)) load(node.nodeId);
    }
    setOpen(next);
  }

  function pick(node: BrowseNode, on: boolean) {
    const next = new Map(picked);
    if (on) next.set(node.nodeId, node);
    else next.delete(node.nodeId);
    setPicked(next);
  }

  function add() {
    onAdd(
      [...picked.values()].map((n) => {
        const tag: NewTag = { name: tagNameFrom(n.browseName.replace(/^\d+:/, '')), address: n.nodeId };
        if (n.dataType) tag.type = n.dataType;
        return tag;
      }),
    );
    setPicked(new Map());
  }

  function renderLevel(node: string) {
    const c = children.get(node);
    if (!c || c.state === 'loading') return <li class="muted">Browsing…</li>;
    if (c.state === 'error')
      return (
        <li class="error" role="alert">
          {c.error}
        </li>
      );
    if (c.nodes.length === 0) return <li class="muted">(nothing below)</li>;
    return c.nodes.map((n) => {
      const variable = n.nodeClass === 'Variable';
      return (
        <li key={n.nodeId} role="treeitem" aria-expanded={n.hasChildren ? open.has(n.nodeId) : undefined}>
          <div class="tree-row">
            {n.hasChildren ? (
              <button
                class="twisty"
                aria-label={`${open.has(n.nodeId) ? 'Collapse' : 'Expand'} ${n.browseName}`}
                onClick={() => toggle(n)}
              >
                {open.has(n.nodeId) ? '▾' : '▸'}
              </button>
            ) : (
              <span class="twisty" />
            )}
            {variable ? (
              <label>
                <input
                  type="checkbox"
                  checked={picked.has(n.nodeId)}
                  onChange={(e) => pick(n, e.currentTarget.checked)}
                />{' '}
                {n.browseName}
              </label>
            ) : (
              <span>{n.browseName}</span>
            )}
            <span class="muted small mono">{n.nodeId}</span>
            {n.dataType && <span class="badge small">{n.dataType}</span>}
          </div>
          {n.hasChildren && open.has(n.nodeId) && <ul role="group">{renderLevel(n.nodeId)}</ul>}
        </li>
      );
    });
  }

  return (
    <details
      class="panel"
      onToggle={(e) => {
        if ((e.currentTarget as HTMLDetailsElement).open && !started) {
          setStarted(true);
          load('');
        }
      }}
    >
      <summary>Add tags from an OPC UA browse of {device}</summary>
      <ul class="tree" role="tree" aria-label={`Address space of ${device}`} data-testid="browse-tree">
        {started && renderLevel('')}
      </ul>
      <button class="primary" disabled={picked.size === 0} onClick={add}>
        Add {picked.size} picked tag{picked.size === 1 ? '' : 's'}
      </button>
    </details>
  );
}
