// Topic explorer: the broker's retained topic tree level by level, with counts and last payloads,
// and a live subscription to any filter the user's ACL allows.
import { useEffect, useState } from 'preact/hooks';
import { api, type BrokerMessage, type TopicNode } from '../api';
import { formatDateTime, formatNumber, formatTime } from '../format';
import { useTitle } from '../hooks';

const REFRESH_MS = 5000;
const MAX_MESSAGES = 200;

function payloadText(payload: string, encoding?: 'base64'): string {
  if (encoding === 'base64') return `(binary, base64) ${payload}`;
  try {
    return JSON.stringify(JSON.parse(payload), null, 2);
  } catch {
    return payload;
  }
}

export function Topics() {
  useTitle('Topics');
  const [tree, setTree] = useState<TopicNode>();
  const [error, setError] = useState('');
  const [open, setOpen] = useState<Set<string>>(() => new Set(['']));
  const [selected, setSelected] = useState<string>();

  useEffect(() => {
    let stopped = false;
    const load = () =>
      api<TopicNode>('/api/broker/topics')
        .then((t) => {
          if (stopped) return;
          setTree(t);
          setError('');
        })
        .catch((err: Error) => !stopped && setError(err.message));
    void load();
    const timer = setInterval(load, REFRESH_MS);
    return () => {
      stopped = true;
      clearInterval(timer);
    };
  }, []);

  function toggle(topic: string) {
    const next = new Set(open);
    if (next.has(topic)) next.delete(topic);
    else next.add(topic);
    setOpen(next);
  }

  const node = selected !== undefined && tree ? find(tree, selected) : undefined;
  return (
    <section>
      <h1>Topics</h1>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      <div class="two-col">
        <div>
          <h2>Retained topics</h2>
          <ul class="tree" role="tree" aria-label="Topic tree">
            {tree ? (
              tree.children.map((child) => (
                <TreeNode
                  key={child.topic}
                  node={child}
                  open={open}
                  toggle={toggle}
                  selected={selected}
                  select={setSelected}
                />
              ))
            ) : (
              <li class="muted">Loading…</li>
            )}
            {tree && tree.children.length === 0 && <li class="muted">No retained messages.</li>}
          </ul>
        </div>
        <div>
          <h2>{node ? 'Topic' : 'Select a topic'}</h2>
          {node && (
            <div data-testid="topic-details">
              <p class="mono break">{node.topic}</p>
              <p>
                {formatNumber(node.count, 0)} retained message{node.count === 1 ? '' : 's'} at or below this
                level
              </p>
              {node.retained ? (
                <>
                  <p>
                    <span class="badge">retained</span>{' '}
                    {node.retained.ts !== undefined && (
                      <span class="muted">{formatDateTime(node.retained.ts)}</span>
                    )}
                  </p>
                  <pre class="payload">{payloadText(node.retained.payload, node.retained.encoding)}</pre>
                </>
              ) : (
                <p class="muted">No retained message on this exact topic.</p>
              )}
            </div>
          )}
          <Subscribe
            initial={node ? (node.children.length > 0 ? `${node.topic}/#` : node.topic) : undefined}
          />
        </div>
      </div>
    </section>
  );
}

/** Why the gateway refused a subscription: its error, read without waiting on a stream it accepted. */
async function refusal(filter: string): Promise<string | undefined> {
  const abort = new AbortController();
  try {
    const res = await fetch(`/api/subscribe?filter=${encodeURIComponent(filter)}`, { signal: abort.signal });
    if (res.ok) return undefined;
    const body = (await res.json().catch(() => ({}))) as { error?: string };
    return body.error ?? `the gateway answered ${res.status}`;
  } catch {
    return undefined;
  } finally {
    abort.abort();
  }
}

function find(node: TopicNode, topic: string): TopicNode | undefined {
  if (node.topic === topic) return node;
  for (const child of node.children) {
    if (topic === child.topic || topic.startsWith(`${child.topic}/`) || child.topic === '') {
      const hit = find(child, topic);
      if (hit) return hit;
    }
  }
  return undefined;
}

interface NodeProps {
  node: TopicNode;
  open: Set<string>;
  toggle: (topic: string) => void;
  selected?: string;
  select: (topic: string) => void;
}

function TreeNode({ node, open, toggle, selected, select }: NodeProps) {
  const expanded = open.has(node.topic);
  const hasChildren = node.children.length > 0;
  return (
    <li
      role="treeitem"
      aria-expanded={hasChildren ? expanded : undefined}
      aria-selected={selected === node.topic}
    >
      <div class={`tree-row ${selected === node.topic ? 'selected' : ''}`}>
        {hasChildren ? (
          <button
            class="twisty"
            aria-label={expanded ? `Collapse ${node.name}` : `Expand ${node.name}`}
            onClick={() => toggle(node.topic)}
          >
            {expanded ? '▾' : '▸'}
          </button>
        ) : (
          <span class="twisty" />
        )}
        <button class="link node-name" data-topic={node.topic} onClick={() => select(node.topic)}>
          {node.name || '(empty)'}
        </button>
        <span class="muted small">{formatNumber(node.count, 0)}</span>
        {node.retained && <span class="badge small">retained</span>}
        {node.retained && !hasChildren && (
          <span class="muted small ellipsis">
            {node.retained.encoding ? '(binary)' : node.retained.payload}
          </span>
        )}
      </div>
      {hasChildren && expanded && (
        <ul role="group">
          {node.children.map((child) => (
            <TreeNode
              key={child.topic}
              node={child}
              open={open}
              toggle={toggle}
              selected={selected}
              select={select}
            />
          ))}
        </ul>
      )}
    </li>
  );
}

function Subscribe({ initial }: { initial?: string }) {
  const [filter, setFilter] = useState('#');
  const [active, setActive] = useState<string>();
  const [messages, setMessages] = useState<Array<BrokerMessage & { seq: number }>>([]);
  const [state, setState] = useState('');

  useEffect(() => {
    if (initial !== undefined && active === undefined) setFilter(initial);
  }, [initial]);

  useEffect(() => {
    if (active === undefined) return;
    setMessages([]);
    setState('connecting');
    const source = new EventSource(`/api/subscribe?filter=${encodeURIComponent(active)}`);
    let buffer: Array<BrokerMessage & { seq: number }> = [];
    let seq = 0;
    let frame = 0;
    source.onopen = () => setState('subscribed');
    source.onerror = () => {
      if (source.readyState === EventSource.CLOSED) {
        void refusal(active).then((why) => setState(why ?? 'closed by the gateway'));
      } else setState('reconnecting');
    };
    source.addEventListener('message', (e) => {
      buffer.push({ ...(JSON.parse((e as MessageEvent<string>).data) as BrokerMessage), seq: seq++ });
      if (frame) return;
      frame = requestAnimationFrame(() => {
        frame = 0;
        const arrived = buffer.reverse();
        buffer = [];
        setMessages((old) => [...arrived, ...old].slice(0, MAX_MESSAGES));
      });
    });
    return () => {
      source.close();
      cancelAnimationFrame(frame);
    };
  }, [active]);

  return (
    <div class="subscribe">
      <h2>Subscribe</h2>
      <form
        class="toolbar"
        onSubmit={(e) => {
          e.preventDefault();
          setActive(active === filter ? undefined : filter);
        }}
      >
        <label class="grow">
          Filter
          <input
            name="filter"
            class="mono"
            value={filter}
            onInput={(e) => setFilter(e.currentTarget.value)}
          />
        </label>
        <button type="submit" class="primary">
          {active === filter ? 'Stop' : 'Subscribe'}
        </button>
      </form>
      {active !== undefined && (
        <p class="muted small" aria-live="polite">
          {active}: {state}, {messages.length} message{messages.length === 1 ? '' : 's'}
        </p>
      )}
      <ol class="messages" data-testid="messages">
        {messages.map((m) => (
          <li key={m.seq}>
            <div>
              <span class="muted small">{formatTime(m.ts)}</span> <span class="mono">{m.topic}</span>{' '}
              <span class="badge small">QoS {m.qos}</span>{' '}
              {m.retain && <span class="badge small">retained</span>}
            </div>
            <pre class="payload small">{payloadText(m.payload, m.encoding)}</pre>
          </li>
        ))}
      </ol>
    </div>
  );
}
