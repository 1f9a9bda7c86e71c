// GET /api/events: live tag values (every tag's latest value first, then changes batched at most
// every 250 ms, a change after a quieter spell at once), device status (on change and every few
// seconds) and bridge status, as server-sent events for the console.
import { FlushThrottle } from '../flush-throttle.js';
import { openEventStream } from '../sse.js';
import { PendingTagUpdates } from '../tag-updates.js';
import { bridgeEntry } from './status.js';
import type { RouteModule } from './route-module.js';

const TAGS_EVERY_MS = 250;
/**
 * Values per `tags` event, about 1 MB: every tag's latest value on a 100,000-tag gateway goes in
 * parts, never as one write past what a slow client may have unread (the stream would end).
 */
const TAGS_PER_EVENT = 10_000;
const STATUS_CHECK_MS = 1000;
const STATUS_FULL_EVERY = 5;

export const eventRoutes: RouteModule = (app, ctx) => {
  app.get('/api/events', { config: { access: 'viewer' } }, (request, reply) => {
    const stream = openEventStream(request, reply, ctx.onClose, ctx.sessions.holds(request.sessionId));
    const gateway = ctx.gateway;
    const pending = new PendingTagUpdates(() => gateway.config().mappings);
    const tags = new FlushThrottle(() => {
      if (pending.size === 0) return true;
      // A client that does not keep up gets the latest value of each tag when it does.
      if (!stream.writable) return false;
      stream.sendJson('tags', pending.take(TAGS_PER_EVENT));
      // More (the first event of a large gateway): the next part once this one is on its way.
      return pending.size === 0;
    }, TAGS_EVERY_MS);
    // The latest value of every tag first, as MQTT sends retained messages first: a viewer (or one
    // reconnecting after a dropped stream) is current at once, also for tags that seldom change.
    pending.addAll((device, tag) => gateway.latest.get(device, tag));
    if (pending.size > 0) tags.changed();
    stream.onEnd(
      gateway.latest.listen((device, batch) => {
        if (batch.length === 0) return;
        pending.add(device, batch);
        tags.changed();
      }),
    );

    const lastDevice = new Map<string, string>();
    const lastBridge = new Map<string, string>();
    let ticks = 0;
    const sendStatus = (): void => {
      const full = ticks++ % STATUS_FULL_EVERY === 0;
      for (const device of gateway.devices()) {
        const key = `${device.state}\u0000${device.lastError ?? ''}`;
        if (!full && lastDevice.get(device.deviceId) === key) continue;
        lastDevice.set(device.deviceId, key);
        stream.send('device', device);
      }
      for (const bridge of gateway.bridges()) {
        const key = `${bridge.state}\u0000${bridge.outbox.messages}\u0000${bridge.dropped}`;
        if (!full && lastBridge.get(bridge.name) === key) continue;
        lastBridge.set(bridge.name, key);
        stream.send('bridge', bridgeEntry(bridge));
      }
    };
    sendStatus();
    const statusTimer = setInterval(sendStatus, STATUS_CHECK_MS);
    stream.onEnd(() => {
      tags.cancel();
      clearInterval(statusTimer);
    });
  });
};
