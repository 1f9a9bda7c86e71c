// The subscription trie: filters split on '/', one node per level, with '+' and '#' as children
// like any other level. Matching a topic walks only the branches that can match it, so the cost
// grows with the topic's depth and the matching filters, not with the number of subscriptions.

interface TrieNode<K, V> {
  children: Map<string, TrieNode<K, V>>;
  entries: Map<K, V> | null;
}

function newNode<K, V>(): TrieNode<K, V> {
  return { children: new Map(), entries: null };
}

export class SubscriptionTrie<K, V> {
  private readonly root: TrieNode<K, V> = newNode();
  private count = 0;

  /** Number of (filter, key) entries. */
  get size(): number {
    return this.count;
  }

  /** Number of nodes below the root (what the trie holds in memory, beyond its entries). */
  nodeCount(): number {
    let count = 0;
    const stack: TrieNode<K, V>[] = [this.root];
    while (stack.length > 0) {
      const node = stack.pop()!;
      for (const child of node.children.values()) {
        count++;
        stack.push(child);
      }
    }
    return count;
  }

  /** Adds or replaces the entry of `key` under `filter`; returns true when it was new. */
  add(filter: string, key: K, value: V): boolean {
    let node = this.root;
    for (const level of filter.split('/')) {
      let child = node.children.get(level);
      if (!child) {
        child = newNode();
        node.children.set(level, child);
      }
      node = child;
    }
    node.entries ??= new Map();
    const added = !node.entries.has(key);
    node.entries.set(key, value);
    if (added) this.count++;
    return added;
  }

  get(filter: string, key: K): V | undefined {
    let node: TrieNode<K, V> | undefined = this.root;
    for (const level of filter.split('/')) {
      node = node.children.get(level);
      if (!node) return undefined;
    }
    return node.entries?.get(key);
  }

  /** Removes the entry of `key` under `filter`, pruning empty branches; returns true when it existed. */
  remove(filter: string, key: K): boolean {
    const levels = filter.split('/');
    const path: TrieNode<K, V>[] = [this.root];
    let node = this.root;
    for (const level of levels) {
      const child = node.children.get(level);
      if (!child) return false;
      path.push(child);
      node = child;
    }
    if (!node.entries?.delete(key)) return false;
    this.count--;
    if (node.entries.size === 0) node.entries = null;
    for (let i = levels.length; i > 0; i--) {
      const current = path[i]!;
      if (current.entries || current.children.size > 0) break;
      path[i - 1]!.children.delete(levels[i - 1]!);
    }
    return true;
  }

  /** Calls `visit` for every entry whose filter matches `topic` (a topic name, no wildcards). */
  match(topic: string, visit: (key: K, value: V) => void): void {
    const levels = topic.split('/');
    // Wildcards at the first level never match topics starting with '$' (MQTT 4.7.2).
    const dollar = topic.charCodeAt(0) === 0x24;
    this.walk(this.root, levels, 0, dollar, visit);
  }

  private walk(
    node: TrieNode<K, V>,
    levels: string[],
    depth: number,
    dollar: boolean,
    visit: (key: K, value: V) => void,
  ): void {
    const wildcardsAllowed = !(dollar && depth === 0);
    if (wildcardsAllowed) {
      // '#' also matches the parent level itself: "a/#" matches "a".
      const hash = node.children.get('#');
      if (hash?.entries) for (const [k, v] of hash.entries) visit(k, v);
    }
    if (depth === levels.length) {
      if (node.entries) for (const [k, v] of node.entries) visit(k, v);
      return;
    }
    const exact = node.children.get(levels[depth]!);
    if (exact) this.walk(exact, levels, depth + 1, dollar, visit);
    if (wildcardsAllowed) {
      const plus = node.children.get('+');
      if (plus) this.walk(plus, levels, depth + 1, dollar, visit);
    }
  }
}
