// What a command gets back: the result message, where it is published, and who sent the command
// as the audit log records it.
import type { TagSample, TagValue } from '../../drivers/types.js';
import type { DeliveredMessage, LocalBroker, Origin } from '../broker/api.js';
import type { Logger } from '../log.js';
import type { AuditOutcome } from './audit.js';

const ORIGIN: Origin = { kind: 'internal', component: 'commands' };

export type CommandResult = ({ ok: true } | { ok: false; error: string }) & {
  value?: TagValue | null;
  values?: Record<string, TagValue | null>;
  ts?: number;
  quality?: TagSample['quality'];
  reason?: string;
  /** Present on a failure after the write went out unanswered: the device may still apply it. */
  outcome?: 'unknown';
  requestId?: string;
};

/** The answer to a command that cannot be audited: it is not carried out. */
export const AUDIT_UNAVAILABLE = 'audit log unavailable: the command was not carried out';

/** How far a command got, for its audit outcome. */
export interface CommandProgress {
  /** A request went to the device (a write, or a read for /get). */
  reachedDevice: boolean;
}

/** The audit outcome of a command from its result and how far it got. */
export function outcomeOf(result: CommandResult, progress: CommandProgress): AuditOutcome {
  if (result.ok) return 'ok';
  if (result.outcome === 'unknown') return 'unknown';
  return progress.reachedDevice ? 'failed' : 'refused';
}

export function failure(error: string, requestId: string | undefined): CommandResult {
  return requestId === undefined ? { ok: false, error } : { ok: false, error, requestId };
}

export function withRequestId(result: CommandResult, requestId: string | undefined): CommandResult {
  return requestId === undefined ? result : { ...result, requestId };
}

/** Who sent a command, as the audit log records it. */
export function auditIdentity(origin: Origin): { clientId: string; username?: string } {
  switch (origin.kind) {
    case 'client':
      return origin.username === undefined
        ? { clientId: origin.clientId }
        : { clientId: origin.clientId, username: origin.username };
    case 'bridge':
      return origin.username === undefined
        ? { clientId: `bridge:${origin.bridge}` }
        : { clientId: `bridge:${origin.bridge}`, username: origin.username };
    case 'internal':
      return { clientId: `internal:${origin.component}` };
  }
}

/**
 * Why the gateway will not publish a result on a command's response topic. The gateway publishes
 * with its own rights, so a sender may only direct it where the ACL lets the sender publish, and
 * never onto a command topic.
 */
function responseTopicProblem(broker: LocalBroker, msg: DeliveredMessage, topic: string): string | undefined {
  if (topic.length === 0 || /[+#]/.test(topic) || topic.includes('\u0000')) return 'not a valid topic name';
  if (/\/(set|get)$/.test(topic)) return 'a command topic';
  if (!broker.mayPublish(msg.origin, topic)) return 'the sender may not publish there';
  return undefined;
}

/** The result on `{command topic}/result` and, for MQTT 5 commands that ask, on their response topic. */
export function publishResult(broker: LocalBroker, msg: DeliveredMessage, text: string, log: Logger): void {
  const payload = Buffer.from(text);
  const properties = { contentType: 'application/json' };
  broker.publish({ topic: `${msg.topic}/result`, payload, qos: 1, retain: false, properties }, ORIGIN);
  const responseTopic = msg.properties?.responseTopic;
  if (responseTopic === undefined) return;
  const refused = responseTopicProblem(broker, msg, responseTopic);
  if (refused !== undefined) {
    log.warn({ topic: msg.topic, responseTopic }, `command not answered on its response topic: ${refused}`);
    return;
  }
  const correlationData = msg.properties?.correlationData;
  broker.publish(
    {
      topic: responseTopic,
      payload,
      qos: msg.qos === 0 ? 0 : 1,
      retain: false,
      properties: correlationData ? { ...properties, correlationData } : properties,
    },
    ORIGIN,
  );
}

/** A read or read-back sample as a result: ok, with quality and reason when not good. */
export function sampleResult(sample: TagSample): CommandResult {
  const result: CommandResult = { ok: true, value: sample.value, ts: sample.ts };
  if (sample.quality !== 'good') {
    result.quality = sample.quality;
    result.reason = sample.reason;
  }
  return result;
}
