// Will messages: published when a connection ends without a clean DISCONNECT, after the v5 Will
// Delay Interval, unless the client resumes its session first.
import type { MessageProperties, Origin, QoS } from './api.js';

export interface PendingWill {
  topic: string;
  payload: Buffer;
  qos: QoS;
  retain: boolean;
  properties: MessageProperties | undefined;
  delaySec: number;
  origin: Origin;
  /** The publishing identity, for the ACL check when it is sent. */
  username: string | undefined;
  clientId: string;
  timer: NodeJS.Timeout | null;
}
