// Reads a server-sent events stream over real HTTP until a condition holds (or a deadline passes).
export interface ServerEvent {
  event: string;
  data: unknown;
}

export async function readEvents(
  url: string,
  headers: Record<string, string>,
  until: (events: ServerEvent[]) => boolean,
  timeoutMs = 15_000,
): Promise<{ status: number; contentType: string | null; events: ServerEvent[]; ended: boolean }> {
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), timeoutMs);
  const events: ServerEvent[] = [];
  try {
    const res = await fetch(url, { headers, signal: abort.signal });
    const contentType = res.headers.get('content-type');
    if (res.status !== 200 || !res.body) return { status: res.status, contentType, events, ended: true };
    const reader = res.body.getReader();
    const decoder = new TextDecoder();
    let buffer = '';
    let ended = false;
    try {
      while (!until(events)) {
        const { value, done } = await reader.read();
        if (done) {
          ended = true;
          break;
        }
        buffer += decoder.decode(value, { stream: true });
        let end: number;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const event = /^event: (.*)$/m.exec(block)?.[1];
          const data = /^data: (.*)$/m.exec(block)?.[1];
          if (event !== undefined && data !== undefined) events.push({ event, data: JSON.parse(data) });
        }
      }
    } catch (err) {
      if (!abort.signal.aborted) throw err;
    }
    abort.abort();
    return { status: res.status, contentType, events, ended };
  } finally {
    clearTimeout(timer);
  }
}
