// Retained messages: the last message per topic, in memory for delivery, in SQLite for restarts.
import type { MessageProperties } from './api.js';
import type { RoutedMessage } from './message.js';
import { isExpired, keepable } from './message.js';
import { topicMatches } from './topics/validate.js';
import type { RetainedStore, StoredRetained } from './persistence/retained.js';

export class RetainedMessages {
  private readonly messages = new Map<string, RoutedMessage>();

  private store: RetainedStore | null = null;

  /** Keeps retained messages in SQLite from now on ($SYS topics stay in memory: they are rebuilt). */
  useStore(store: RetainedStore): void {
    this.store = store;
  }

  get size(): number {
    return this.messages.size;
  }

  async load(now: number): Promise<void> {
    if (!this.store) return;
    for (const row of await this.store.loadAll()) {
      if (row.expiresAt !== null && row.expiresAt <= now) {
        this.store.delete(row.topic);
        continue;
      }
      this.messages.set(row.topic, {
        topic: row.topic,
        payload: row.payload,
        qos: row.qos,
        retain: true,
        properties: decodeProperties(row.properties),
        origin: { kind: 'internal', component: 'retained' },
        expiresAt: row.expiresAt ?? 0,
        publisher: null,
      });
    }
  }

  /**
   * Stores a retained publish; an empty payload deletes the topic's retained message. Returns the
   * commit of the SQLite write, or null when nothing is written.
   */
  set(msg: RoutedMessage): Promise<void> | null {
    if (msg.payload.length === 0) {
      if (this.messages.delete(msg.topic) && !isSys(msg.topic) && this.store)
        return this.store.delete(msg.topic);
      return null;
    }
    const kept: RoutedMessage = { ...keepable(msg), retain: true, publisher: null, encodings: undefined };
    this.messages.set(msg.topic, kept);
    return !isSys(msg.topic) && this.store ? this.store.set(toStored(kept)) : null;
  }

  /** Every retained message, expired ones included (callers that care check `expiresAt`). */
  all(): IterableIterator<RoutedMessage> {
    return this.messages.values();
  }

  get(topic: string): RoutedMessage | undefined {
    return this.messages.get(topic);
  }

  /** Retained messages matching `filter`, expired ones removed on the way. */
  matching(filter: string, now: number): RoutedMessage[] {
    const found: RoutedMessage[] = [];
    const exact = !filter.includes('+') && !filter.includes('#');
    if (exact) {
      const msg = this.messages.get(filter);
      if (msg && !this.expire(msg, now)) found.push(msg);
      return found;
    }
    for (const msg of this.messages.values()) {
      if (topicMatches(filter, msg.topic) && !this.expire(msg, now)) found.push(msg);
    }
    return found;
  }

  private expire(msg: RoutedMessage, now: number): boolean {
    if (!isExpired(msg, now)) return false;
    this.messages.delete(msg.topic);
    this.store?.delete(msg.topic);
    return true;
  }

  flush(): Promise<void> {
    return this.store ? this.store.flush() : Promise.resolve();
  }
}

function isSys(topic: string): boolean {
  return topic.startsWith('$SYS/');
}

function toStored(msg: RoutedMessage): StoredRetained {
  return {
    topic: msg.topic,
    payload: msg.payload,
    qos: msg.qos,
    properties: encodeProperties(msg.properties),
    expiresAt: msg.expiresAt === 0 ? null : msg.expiresAt,
  };
}

export function encodeProperties(p: MessageProperties | undefined): string | null {
  if (!p) return null;
  const { correlationData, ...rest } = p;
  return JSON.stringify(
    correlationData ? { ...rest, correlationData: correlationData.toString('base64') } : rest,
  );
}

export function decodeProperties(json: string | null): MessageProperties | undefined {
  if (!json) return undefined;
  const parsed = JSON.parse(json) as Omit<MessageProperties, 'correlationData'> & {
    correlationData?: string;
  };
  const { correlationData, ...rest } = parsed;
  return correlationData !== undefined
    ? { ...rest, correlationData: Buffer.from(correlationData, 'base64') }
    : rest;
}
