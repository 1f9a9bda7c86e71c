// The tank driver: polls its tags over one TCP connection to the tank simulator, writes a value
// and answers with the value read back. Small on purpose: it shows what a driver must provide.
import net from 'node:net';
import type * as api from '../../../drivers/types.js';
import type { TankAnswer, TankRequest } from './simulator.js';
import type { TankDeviceConfig } from './types.js';

type Pending = { resolve(answer: TankAnswer): void; reject(err: Error): void; timer: NodeJS.Timeout };

export class TankDriver implements api.Driver {
  private socket?: net.Socket;
  private pollTimer?: NodeJS.Timeout;
  private retryTimer?: NodeJS.Timeout;
  private stopped = false;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private current: api.DeviceStatus;

  constructor(
    private readonly device: TankDeviceConfig,
    private readonly tags: readonly api.TagConfig[],
    private readonly ctx: api.DriverContext,
  ) {
    this.current = {
      deviceId: device.id,
      state: 'connecting',
      since: Date.now(),
      requests: 0,
      errors: 0,
      timeouts: 0,
    };
  }

  get deviceId(): string {
    return this.device.id;
  }

  async start(): Promise<void> {
    this.connect();
    const periodMs = Math.min(...this.tags.map((t) => t.pollMs));
    if (Number.isFinite(periodMs)) this.pollTimer = setInterval(() => void this.poll(), periodMs);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.pollTimer);
    clearTimeout(this.retryTimer);
    this.socket?.destroy();
    this.setState('stopped');
  }

  async read(names: readonly string[]): Promise<api.TagSample[]> {
    const tags = this.tags.filter((t) => names.includes(t.name));
    const ts = Date.now();
    try {
      const answer = await this.request({ id: 0, op: 'read', names: tags.map((t) => t.address) });
      if ('error' in answer) throw new Error(answer.error);
      return tags.map((t): api.TagSample => {
        const value = answer.values[t.address];
        return value === null || value === undefined
          ? { tag: t.name, ts, quality: 'bad', value: null, reason: `no value "${t.address}"` }
          : { tag: t.name, ts, quality: 'good', value };
      });
    } catch (err) {
      return tags.map((t) => ({
        tag: t.name,
        ts,
        quality: 'bad',
        value: null,
        reason: (err as Error).message,
      }));
    }
  }

  async write(name: string, value: api.TagValue): Promise<api.WriteResult> {
    const tag = this.tags.find((t) => t.name === name);
    if (!tag) return { ok: false, error: `no tag "${name}"`, outcome: 'refused' };
    if (typeof value !== 'number') return { ok: false, error: 'the tank holds numbers', outcome: 'refused' };
    try {
      const answer = await this.request({ id: 0, op: 'write', name: tag.address, value });
      if ('error' in answer) return { ok: false, error: answer.error };
    } catch (err) {
      return { ok: false, error: (err as Error).message, outcome: 'unknown' };
    }
    const [sample] = await this.read([name]);
    return sample?.quality === 'good' ? { ok: true, sample } : { ok: false, error: 'read-back failed' };
  }

  status(): api.DeviceStatus {
    return { ...this.current };
  }

  private async poll(): Promise<void> {
    if (this.current.state !== 'connected') return;
    this.ctx.onSamples(await this.read(this.tags.map((t) => t.name)));
  }

  private connect(): void {
    if (this.stopped) return;
    const socket = net.connect(this.device.port, this.device.host);
    this.socket = socket;
    let buffered = '';
    socket.on('connect', () => this.setState('connected'));
    socket.on('data', (chunk) => {
      buffered += chunk.toString('utf8');
      for (let end = buffered.indexOf('\n'); end >= 0; end = buffered.indexOf('\n')) {
        const answer = JSON.parse(buffered.slice(0, end)) as TankAnswer;
        buffered = buffered.slice(end + 1);
        const waiting = this.pending.get(answer.id);
        this.pending.delete(answer.id);
        clearTimeout(waiting?.timer);
        waiting?.resolve(answer);
      }
    });
    socket.on('error', (err) => this.ctx.log.debug({ err: err.message }, 'tank connection error'));
    socket.on('close', () => {
      for (const waiting of this.pending.values()) waiting.reject(new Error('connection lost'));
      this.pending.clear();
      if (this.stopped) return;
      this.setState('disconnected');
      this.retryTimer = setTimeout(() => this.connect(), 100);
    });
  }

  private request(request: TankRequest): Promise<TankAnswer> {
    const socket = this.socket;
    if (!socket || this.current.state !== 'connected') return Promise.reject(new Error('not connected'));
    const id = this.nextId++;
    this.current.requests++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        this.current.timeouts++;
        reject(new Error(`timeout after ${this.device.timeoutMs} ms`));
      }, this.device.timeoutMs);
      this.pending.set(id, { resolve, reject, timer });
      socket.write(`${JSON.stringify({ ...request, id })}\n`);
    });
  }

  private setState(state: api.DeviceStatus['state']): void {
    this.current = { ...this.current, state, since: Date.now() };
    this.ctx.onStatus(this.status());
  }
}
