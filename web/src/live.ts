// Live state of the gateway in the browser: every tag with its latest value, device and bridge
// health, fed by one server-sent event stream (/api/events). Pages read the store and re-render
// at most once per animation frame, however many updates arrive.
import { api, type Bridge, type DeviceStatus, type Tag, type TagUpdate } from './api';
import { History } from './history';
import { RateCounter } from './rate';

export type Topic = 'tags' | 'devices' | 'bridges' | 'connection';
export type Connection = 'connecting' | 'open' | 'lost';

const PAGE = 5000;

export function tagKey(device: string, name: string): string {
  return `${device}\u0000${name}`;
}

class LiveStore {
  /** Every mapped tag; rows are updated in place so a table keeps its order while values move. */
  readonly tags = new Map<string, Tag>();
  readonly devices = new Map<string, DeviceStatus>();
  readonly bridges = new Map<string, Bridge>();
  readonly history = new History();
  connection: Connection = 'connecting';
  /** Bumped when tags are added or removed (not on value changes): lists rebuild their order. */
  tagListVersion = 0;
  /** Per device, recent arrivals for a samples-per-second figure when the server gives none. */
  private arrivals = new Map<string, RateCounter>();
  private source?: EventSource;
  private listeners = new Map<Topic, Set<() => void>>();
  private pending = new Set<Topic>();
  private frame = 0;
  private firstLive = false;
  private loading?: Promise<void>;
  private relistTimer?: ReturnType<typeof setTimeout>;
  /** Tag lists being read: a tag the stream names meanwhile should come with them. */
  private listing = 0;
  /** Tags the stream named while a list was read; those the list lacked make a relist. */
  private namedWhileListing = new Set<string>();

  on(topic: Topic, fn: () => void): () => void {
    let set = this.listeners.get(topic);
    if (!set) this.listeners.set(topic, (set = new Set()));
    set.add(fn);
    return () => set.delete(fn);
  }

  private notify(topic: Topic): void {
    this.pending.add(topic);
    if (this.frame) return;
    // One notification per frame; a hidden tab gets none until it is shown again (rAF pauses).
    this.frame = requestAnimationFrame(() => {
      this.frame = 0;
      const topics = [...this.pending];
      this.pending.clear();
      for (const t of topics) for (const fn of this.listeners.get(t) ?? []) fn();
    });
  }

  /** Loads the tag list and devices, then opens the event stream. Safe to call again. */
  start(): Promise<void> {
    this.loading ??= this.load();
    return this.loading;
  }

  stop(): void {
    this.source?.close();
    this.source = undefined;
    this.loading = undefined;
    this.tags.clear();
    this.devices.clear();
    this.bridges.clear();
    this.history.clear();
    this.tagListVersion++;
  }

  private async load(): Promise<void> {
    this.open();
    const tags = this.reloadTags();
    const [devices, bridges] = await Promise.all([
      api<DeviceStatus[]>('/api/devices'),
      api<Bridge[]>('/api/bridges').catch(() => [] as Bridge[]),
    ]);
    for (const d of devices) this.devices.set(d.deviceId, { ...this.devices.get(d.deviceId), ...d });
    for (const b of bridges) this.bridges.set(b.name, b);
    this.notify('devices');
    this.notify('bridges');
    await tags;
  }

  /** Reads the whole tag list again (after a mapping change), keeping live values already seen. */
  async reloadTags(): Promise<void> {
    this.listing++;
    let seen: Set<string> | undefined;
    try {
      seen = await this.readTagList();
    } finally {
      this.listing--;
    }
    if (this.listing > 0) return;
    const missed = [...this.namedWhileListing].some((key) => !seen.has(key));
    this.namedWhileListing.clear();
    if (missed) this.relistSoon();
  }

  /** Reads the list again once a mapping change settles (the stream names tags the list lacks). */
  private relistSoon(): void {
    clearTimeout(this.relistTimer);
    this.relistTimer = setTimeout(() => void this.reloadTags().catch(() => undefined), 1000);
  }

  /** Reads every page of the list into `tags`; returns the keys it listed. */
  private async readTagList(): Promise<Set<string>> {
    const seen = new Set<string>();
    for (let offset = 0; ; offset += PAGE) {
      const page = await api<{ total: number; items: Tag[] }>(`/api/tags?limit=${PAGE}&offset=${offset}`);
      for (const tag of page.items) {
        const key = tagKey(tag.device, tag.name);
        seen.add(key);
        const known = this.tags.get(key);
        // A value from the stream may be newer than the list's.
        if (known && known.ts !== undefined && (tag.ts === undefined || known.ts > tag.ts))
          Object.assign(tag, {
            value: known.value,
            quality: known.quality,
            reason: known.reason,
            ts: known.ts,
          });
        this.tags.set(key, tag);
        if (tag.ts !== undefined && typeof tag.value === 'number') this.history.add(key, tag.ts, tag.value);
      }
      if (page.items.length === 0 || offset + page.items.length >= page.total) break;
    }
    for (const key of this.tags.keys()) if (!seen.has(key)) this.tags.delete(key);
    this.history.setBudget(this.tags.size);
    this.tagListVersion++;
    this.notify('tags');
    return seen;
  }

  private open(): void {
    this.source?.close();
    const source = new EventSource('/api/events');
    this.source = source;
    source.onopen = () => {
      this.connection = 'open';
      this.notify('connection');
    };
    source.onerror = () => {
      // EventSource retries by itself; a closed stream (401, gateway gone) is retried here.
      this.connection = 'lost';
      this.notify('connection');
      // The session may have ended: asking who we are shows the login page if so (and stops us).
      if (source.readyState === EventSource.CLOSED && this.source === source)
        setTimeout(() => {
          if (this.source !== source) return;
          api('/api/me').then(
            () => this.source === source && this.open(),
            () => undefined,
          );
        }, 3000);
    };
    source.addEventListener('tags', (e) =>
      this.onTags(JSON.parse((e as MessageEvent<string>).data) as TagUpdate[]),
    );
    source.addEventListener('device', (e) =>
      this.onDevice(JSON.parse((e as MessageEvent<string>).data) as DeviceStatus),
    );
    source.addEventListener('bridge', (e) => {
      const bridge = JSON.parse((e as MessageEvent<string>).data) as Bridge;
      this.bridges.set(bridge.name, bridge);
      this.notify('bridges');
    });
  }

  private onTags(updates: TagUpdate[]): void {
    const now = Date.now();
    let added = false;
    for (const u of updates) {
      const key = tagKey(u.device, u.name);
      let tag = this.tags.get(key);
      if (!tag) {
        // A tag the list does not know yet (mapping just changed): shown now, details on reload.
        tag = { device: u.device, name: u.name, topic: '', address: '', type: '', writable: false };
        this.tags.set(key, tag);
        added = true;
        if (this.listing > 0) this.namedWhileListing.add(key);
      }
      tag.value = u.value;
      tag.quality = u.quality;
      tag.reason = u.reason;
      tag.ts = u.ts;
      if (typeof u.value === 'number') this.history.add(key, u.ts, u.value);
      else if (typeof u.value === 'boolean') this.history.add(key, u.ts, u.value ? 1 : 0);
      let rate = this.arrivals.get(u.device);
      if (!rate) this.arrivals.set(u.device, (rate = new RateCounter()));
      rate.add(1, now);
    }
    if (added) {
      this.tagListVersion++;
      this.history.setBudget(this.tags.size);
      // Its topic, type and range come with the list. The stream's first event (every tag's value)
      // often comes before the first list: that list will do, unless it lacks the tag.
      if (this.listing === 0) this.relistSoon();
    }
    if (!this.firstLive && updates.length > 0) {
      this.firstLive = true;
      performance.mark('tagwire:first-live');
    }
    this.notify('tags');
  }

  private onDevice(status: DeviceStatus): void {
    this.devices.set(status.deviceId, { ...this.devices.get(status.deviceId), ...status });
    this.notify('devices');
  }

  /** Samples per second of a device: the server's figure, or counted from the stream. */
  samplesPerSec(device: string): number | undefined {
    const fromServer = this.devices.get(device)?.samplesPerSec;
    if (fromServer !== undefined) return fromServer;
    return this.arrivals.get(device)?.perSecond();
  }
}

export const live = new LiveStore();
