// Routing: one published message to every matching subscription. Overlapping subscriptions of a
// session merge into one delivery (highest QoS, every subscription identifier); shared groups
// give it to one member; in-process handlers see it once it was delivered to the network.
import type { DeliveredMessage, DurableHandler, LocalHandler, QoS } from './api.js';
import type { Logger } from '../log.js';
import type { ClientAcl } from './auth/acl.js';
import type { RoutedMessage } from './message.js';
import type { Session, SubscriptionOptions } from './session.js';
import type { SharedGroup } from './shared.js';
import { SubscriptionTrie } from './topics/trie.js';

export type TrieEntry =
  /** `reader`: the client's ACL when the subscription can match topics it may not read, else null. */
  | { kind: 'session'; session: Session; options: SubscriptionOptions; reader: ClientAcl | null }
  | { kind: 'shared'; group: SharedGroup }
  | { kind: 'local'; handler: LocalHandler }
  | { kind: 'durable'; handler: DurableHandler };

/**
 * Topics whose matching entries are remembered; cleared whenever a subscription changes. Sized
 * for a gateway's tag topics (100k tags publish 100k topics a second): a smaller cache that a
 * cycle of more topics than it holds empties over and over matched every message in the trie
 * again and kept turning its arrays into old-space garbage.
 */
const MATCH_CACHE_LIMIT = 200_000;
/** And at most this many topic characters, so clients publishing long random topics stay bounded. */
const MATCH_CACHE_CHARS = 8 * 1024 * 1024;
/** What a topic nobody subscribes to matches: shared, so such topics cost no array each. */
const NO_ENTRIES: TrieEntry[] = [];

export class Router {
  private readonly trie = new SubscriptionTrie<object, TrieEntry>();
  private readonly matches = new Map<string, TrieEntry[]>();
  /**
   * The cached match lists, one per distinct set of entries: 100k tag topics all matched by one
   * `#` subscription share one array instead of an array each (20 MB at 100k topics). Keyed by
   * the entries' ids; cleared with the cache.
   */
  private readonly lists = new Map<string, TrieEntry[]>();
  private readonly ids = new WeakMap<TrieEntry, number>();
  private nextId = 0;
  private cachedChars = 0;
  private mark = 0;

  constructor(private readonly log: Logger) {}

  get size(): number {
    return this.trie.size;
  }

  /** What the router holds: trie nodes, cached topic matches and their distinct lists (memory checks in tests). */
  footprint(): { trieNodes: number; cachedTopics: number; matchLists: number } {
    return { trieNodes: this.trie.nodeCount(), cachedTopics: this.matches.size, matchLists: this.lists.size };
  }

  private clearMatches(): void {
    this.matches.clear();
    this.lists.clear();
    this.cachedChars = 0;
  }

  /** The shared array holding exactly `found` (same entries, same order). */
  private shared(found: TrieEntry[]): TrieEntry[] {
    if (found.length === 0) return NO_ENTRIES;
    let key = '';
    for (const entry of found) {
      let id = this.ids.get(entry);
      if (id === undefined) this.ids.set(entry, (id = ++this.nextId));
      key += `${id},`;
    }
    const known = this.lists.get(key);
    if (known) return known;
    this.lists.set(key, found);
    return found;
  }

  add(filter: string, key: object, entry: TrieEntry): boolean {
    this.clearMatches();
    return this.trie.add(filter, key, entry);
  }

  remove(filter: string, key: object): boolean {
    this.clearMatches();
    return this.trie.remove(filter, key);
  }

  private entriesFor(topic: string): TrieEntry[] {
    let entries = this.matches.get(topic);
    if (!entries) {
      const found: TrieEntry[] = [];
      this.trie.match(topic, (_key, entry) => found.push(entry));
      if (this.matches.size >= MATCH_CACHE_LIMIT || this.cachedChars + topic.length > MATCH_CACHE_CHARS)
        this.clearMatches();
      entries = this.shared(found);
      this.matches.set(topic, entries);
      this.cachedChars += topic.length;
    }
    return entries;
  }

  /**
   * Delivers `msg` everywhere it goes. Durable subscribers' commits are added to `commits` when
   * the caller waits for them (a client's QoS 1/2 publish); a durable subscriber that throws
   * counts as a refused commit.
   */
  route(msg: RoutedMessage, commits?: Promise<void>[]): void {
    const mark = ++this.mark;
    const sessions: Session[] = [];
    let locals: TrieEntry[] | undefined;
    for (const entry of this.entriesFor(msg.topic)) {
      switch (entry.kind) {
        case 'session':
          if (entry.reader !== null && !entry.reader.mayRead(msg.topic)) break;
          collect(sessions, entry.session, entry.options, msg, mark);
          break;
        case 'shared': {
          const picked = entry.group.pick(msg.topic);
          if (picked) collect(sessions, picked[0], picked[1], msg, mark);
          break;
        }
        case 'local':
        case 'durable':
          (locals ??= []).push(entry);
          break;
      }
    }
    for (const session of sessions)
      session.deliver(msg, session.routeQos, session.routeRetain, session.routeSubIds);
    if (locals) {
      const delivered: DeliveredMessage = {
        topic: msg.topic,
        payload: msg.payload,
        qos: msg.qos,
        retain: msg.retain,
        properties: msg.properties,
        origin: msg.origin,
      };
      for (const entry of locals) {
        try {
          if (entry.kind === 'durable') {
            const commit = entry.handler(delivered);
            if (commit && commits) commits.push(commit);
          } else if (entry.kind === 'local') entry.handler(delivered);
        } catch (err) {
          this.log.error({ err, topic: msg.topic }, 'in-process subscriber threw');
          if (entry.kind === 'durable' && commits) commits.push(Promise.reject(err as Error));
        }
      }
    }
  }
}

function collect(
  sessions: Session[],
  session: Session,
  options: SubscriptionOptions,
  msg: RoutedMessage,
  mark: number,
): void {
  if (options.noLocal && msg.publisher === session) return;
  const qos = (msg.qos < options.qos ? msg.qos : options.qos) as QoS;
  const retain = options.retainAsPublished && msg.retain;
  if (session.routeMark !== mark) {
    session.routeMark = mark;
    session.routeQos = qos;
    session.routeRetain = retain;
    session.routeSubIds = options.subscriptionId !== undefined ? [options.subscriptionId] : undefined;
    sessions.push(session);
    return;
  }
  if (qos > session.routeQos) session.routeQos = qos;
  if (retain) session.routeRetain = true;
  if (options.subscriptionId !== undefined) (session.routeSubIds ??= []).push(options.subscriptionId);
}
