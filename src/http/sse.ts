// A server-sent events stream on a hijacked reply: named events, a keep-alive comment, and an end
// when the client goes, the server stops, or the client reads too slowly.
import type { FastifyReply, FastifyRequest } from 'fastify';

/** Unsent bytes a slow client may pile up before its stream is closed (it reconnects and catches up). */
const MAX_BUFFERED = 4 * 1024 * 1024;
const KEEPALIVE_MS = 15_000;
/** How often a stream checks that its login still holds (logout, idle expiry). */
const RECHECK_MS = 2000;

export interface EventStream {
  send(event: string, data: unknown): void;
  /** `json` is the event's data already as JSON text (on one line). */
  sendJson(event: string, json: string): void;
  /** True while the socket keeps up (writes below the high-water mark). */
  readonly writable: boolean;
  onEnd(fn: () => void): void;
  end(): void;
}

export function openEventStream(
  request: FastifyRequest,
  reply: FastifyReply,
  onServerClose: (fn: () => void) => () => void,
  /** False once the caller's session has ended: the stream ends too. */
  stillAllowed: () => boolean = () => true,
): EventStream {
  reply.hijack();
  const res = reply.raw;
  res.writeHead(200, {
    ...(reply.getHeaders() as Record<string, string>),
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-store',
    connection: 'keep-alive',
    'x-accel-buffering': 'no',
  });
  res.write('retry: 2000\n\n');
  const enders: Array<() => void> = [];
  let ended = false;
  const end = (): void => {
    if (ended) return;
    ended = true;
    clearInterval(keepalive);
    clearInterval(recheck);
    cancelServerClose();
    for (const fn of enders) fn();
    res.end();
  };
  const keepalive = setInterval(() => res.write(': keep-alive\n\n'), KEEPALIVE_MS);
  keepalive.unref();
  const recheck = setInterval(() => {
    if (!stillAllowed()) end();
  }, RECHECK_MS);
  recheck.unref();
  const cancelServerClose = onServerClose(end);
  request.raw.on('close', end);
  res.on('close', end);
  res.on('error', end);
  const sendJson = (event: string, json: string): void => {
    if (ended) return;
    res.write(`event: ${event}\ndata: ${json}\n\n`);
    if (res.writableLength > MAX_BUFFERED) end();
  };
  return {
    send: (event, data) => sendJson(event, JSON.stringify(data)),
    sendJson,
    get writable() {
      return !ended && !res.writableNeedDrain;
    },
    onEnd(fn) {
      enders.push(fn);
    },
    end,
  };
}
