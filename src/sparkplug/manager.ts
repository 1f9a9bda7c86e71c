// The gateway's Sparkplug B edge nodes: built from the mappings, fed by the drivers' samples and
// device states, rebuilt (a rebirth) when their mappings change. DCMD writes become commands on
// the tags' JSON command topics, so they take the same checks, rate limits and audit log.
import path from 'node:path';
import type { DeviceStatus, ConnectionState, TagSample } from '../../drivers/types.js';
import type { LocalBroker, Origin } from '../broker/api.js';
import type { BridgeConfig } from '../bridge/config.js';
import type { LoadedMapping, MappedTag } from '../config/types.js';
import type { Logger } from '../log.js';
import type { CommandResult } from '../mapping/command-result.js';
import { Database } from '../store/db.js';
import { migrateOutbox } from '../bridge/outbox/outbox.js';
import { BdSeqStore } from './bdseq.js';
import { planNodes } from './config.js';
import { OutboxHistory } from './history.js';
import { LocalLink, UpstreamLink } from './link.js';
import { EdgeNode } from './node.js';

export interface SparkplugManagerOptions {
  gatewayId: string;
  dataDir: string;
  broker: LocalBroker;
  bridges: readonly BridgeConfig[];
  deviceState(id: string): ConnectionState | undefined;
  log: Logger;
}

/** The Sparkplug history store, in the data directory. */
export const SPARKPLUG_FILE = 'sparkplug.db';

const COMMAND_ORIGIN: Origin = { kind: 'internal', component: 'sparkplug:DCMD' };

export class SparkplugManager {
  private nodes: EdgeNode[] = [];
  private histories: OutboxHistory[] = [];
  private db: Database | undefined;
  private signature = '';
  private commandCounter = 0;

  constructor(private readonly opts: SparkplugManagerOptions) {}

  async start(mappings: readonly LoadedMapping[]): Promise<void> {
    const nodes = planNodes(mappings);
    this.signature = JSON.stringify(nodes);
    if (nodes.length === 0) return;
    this.db ??= await Database.open(path.join(this.opts.dataDir, SPARKPLUG_FILE));
    await migrateOutbox(this.db);
    const bdSeq = new BdSeqStore(this.opts.dataDir);
    for (const spec of nodes) {
      const key = `${spec.groupId}/${spec.edgeNodeId}`;
      const log = this.opts.log.child({ sparkplug: key });
      const history = await OutboxHistory.open(this.db, key, log);
      this.histories.push(history);
      const bridge =
        spec.bridge === undefined ? undefined : this.opts.bridges.find((b) => b.name === spec.bridge);
      const link = bridge
        ? new UpstreamLink(bridge, `${this.opts.gatewayId}-spb-${spec.edgeNodeId}`.slice(0, 64), log)
        : new LocalLink(this.opts.broker);
      const node = new EdgeNode(spec, {
        link,
        history,
        nextBdSeq: () => bdSeq.next(key),
        command: (tag, value) => this.command(tag, value),
        deviceState: (id) => this.opts.deviceState(id),
        log,
      });
      this.nodes.push(node);
      node.start();
    }
  }

  /** New mappings: nodes whose Sparkplug view changed are rebuilt (NDEATH, then new births). */
  async update(mappings: readonly LoadedMapping[]): Promise<void> {
    const nodes = planNodes(mappings);
    if (JSON.stringify(nodes) === this.signature) return;
    await this.stopNodes();
    await this.start(mappings);
  }

  onSamples(device: string, batch: readonly TagSample[]): void {
    for (const node of this.nodes) node.onSamples(device, batch);
  }

  onDeviceStatus(status: DeviceStatus): void {
    for (const node of this.nodes) node.onDeviceState(status.deviceId, status.state);
  }

  async stop(): Promise<void> {
    await this.stopNodes();
    await this.db?.close();
    this.db = undefined;
  }

  private async stopNodes(): Promise<void> {
    await Promise.all(this.nodes.map((n) => n.stop()));
    await Promise.all(this.histories.map((h) => h.close()));
    this.nodes = [];
    this.histories = [];
  }

  /** A DCMD write as a command on the tag's command topic; resolves with the router's result. */
  private command(tag: MappedTag, value: unknown): Promise<CommandResult> {
    const requestId = `sparkplug-${process.pid}-${++this.commandCounter}`;
    const setTopic = `${tag.topic}/set`;
    return new Promise<CommandResult>((resolve) => {
      const timer = setTimeout(() => {
        unsubscribe();
        resolve({ ok: false, error: 'no result from the command router', requestId });
      }, tag.commandTimeoutMs + 2000);
      const unsubscribe = this.opts.broker.subscribe(`${setTopic}/result`, (msg) => {
        let result: CommandResult;
        try {
          result = JSON.parse(msg.payload.toString('utf8')) as CommandResult;
        } catch {
          return;
        }
        if (result.requestId !== requestId) return;
        clearTimeout(timer);
        unsubscribe();
        resolve(result);
      });
      this.opts.broker.publish(
        {
          topic: setTopic,
          payload: Buffer.from(JSON.stringify({ value, requestId })),
          qos: 1,
          retain: false,
        },
        COMMAND_ORIGIN,
      );
    });
  }
}
