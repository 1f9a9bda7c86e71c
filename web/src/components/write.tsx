// Writing a tag: an input that fits its type, a confirmation with the current and the new value,
// then the gateway's answer: the value read back from the device, or the refusal in its words.
import { useEffect, useRef, useState } from 'preact/hooks';
import { api, ApiError, tagPath, type JsonValue, type Tag, type WriteOutcome } from '../api';
import { formatTime, formatValue } from '../format';

type Kind = 'bool' | 'integer' | 'float' | 'string' | 'json';

export function inputKind(tag: Tag): Kind {
  const t = tag.type.toLowerCase();
  if (t === 'bool' || t === 'boolean') return 'bool';
  if (/^(u?int(8|16|32|64)?|s?byte)$/.test(t)) return 'integer';
  if (/^(float(32|64)?|double)$/.test(t)) return 'float';
  if (t === 'string' || t === 'localizedtext') return 'string';
  if (t === '') {
    if (typeof tag.value === 'boolean') return 'bool';
    if (typeof tag.value === 'number') return 'float';
    if (typeof tag.value === 'string') return 'string';
  }
  return 'json';
}

type Parsed = { ok: true; value: JsonValue } | { ok: false; error: string };

function parseInput(kind: Kind, text: string, bool: boolean): Parsed {
  if (kind === 'bool') return { ok: true, value: bool };
  if (kind === 'string') return { ok: true, value: text };
  if (kind === 'json') {
    try {
      return { ok: true, value: JSON.parse(text) as JsonValue };
    } catch {
      return { ok: false, error: 'not valid JSON' };
    }
  }
  const trimmed = text.trim();
  if (trimmed === '') return { ok: false, error: 'enter a number' };
  const n = Number(trimmed);
  if (!Number.isFinite(n)) return { ok: false, error: `"${trimmed}" is not a number` };
  if (kind === 'integer' && !Number.isInteger(n)) return { ok: false, error: 'this tag takes whole numbers' };
  return { ok: true, value: n };
}

/** What the gateway will say about the range, said before sending. */
function rangeWarning(tag: Tag, value: JsonValue): string | undefined {
  if (typeof value !== 'number') return undefined;
  if (tag.max !== undefined && value > tag.max)
    return `above max ${formatValue(tag.max)}: the gateway will refuse it`;
  if (tag.min !== undefined && value < tag.min)
    return `below min ${formatValue(tag.min)}: the gateway will refuse it`;
  return undefined;
}

type Result = { ok: true; value: JsonValue; ts: number } | { ok: false; error: string };

export function WriteControl({ tag }: { tag: Tag }) {
  const kind = inputKind(tag);
  const [text, setText] = useState(() =>
    kind === 'json'
      ? JSON.stringify(tag.value ?? null)
      : typeof tag.value === 'number' || typeof tag.value === 'string'
        ? String(tag.value)
        : '',
  );
  const [bool, setBool] = useState(tag.value === true);
  const [inputError, setInputError] = useState('');
  const [pending, setPending] = useState<JsonValue | undefined>(undefined);
  const [confirming, setConfirming] = useState(false);
  const [busy, setBusy] = useState(false);
  const [result, setResult] = useState<Result>();
  const dialog = useRef<HTMLDialogElement>(null);

  useEffect(() => {
    const d = dialog.current;
    if (!d) return;
    if (confirming && !d.open) d.showModal();
    if (!confirming && d.open) d.close();
  }, [confirming]);

  function review(e: Event) {
    e.preventDefault();
    const parsed = parseInput(kind, text, bool);
    if (!parsed.ok) {
      setInputError(parsed.error);
      return;
    }
    setInputError('');
    setResult(undefined);
    setPending(parsed.value);
    setConfirming(true);
  }

  async function send() {
    if (pending === undefined) return;
    setBusy(true);
    try {
      const out = await api<WriteOutcome>(`${tagPath(tag.device, tag.name)}/write`, {
        method: 'POST',
        body: { value: pending, requestId: `web-${Date.now().toString(36)}` },
      });
      setResult(out.ok ? { ok: true, value: out.value, ts: out.ts } : { ok: false, error: out.error });
    } catch (err) {
      const body = err instanceof ApiError ? err.body : undefined;
      const error =
        body && typeof body === 'object' && 'error' in body && typeof body.error === 'string'
          ? body.error
          : err instanceof Error
            ? err.message
            : String(err);
      setResult({ ok: false, error });
    } finally {
      setBusy(false);
      setConfirming(false);
    }
  }

  const warning = pending !== undefined ? rangeWarning(tag, pending) : undefined;
  const range = [
    tag.min !== undefined ? `min ${formatValue(tag.min)}` : '',
    tag.max !== undefined ? `max ${formatValue(tag.max)}` : '',
  ]
    .filter(Boolean)
    .join(', ');

  return (
    <div class="write" data-testid="write-control">
      <h2>Write</h2>
      <form onSubmit={review} noValidate>
        {kind === 'bool' ? (
          <fieldset class="toggle">
            <legend>New value</legend>
            <label>
              <input type="radio" name="bool" checked={bool} onChange={() => setBool(true)} /> true
            </label>
            <label>
              <input type="radio" name="bool" checked={!bool} onChange={() => setBool(false)} /> false
            </label>
          </fieldset>
        ) : (
          <label>
            New value{range && <span class="muted"> ({range})</span>}
            {kind === 'json' ? (
              <textarea name="value" rows={3} value={text} onInput={(e) => setText(e.currentTarget.value)} />
            ) : (
              <input
                name="value"
                type={kind === 'string' ? 'text' : 'number'}
                inputMode={kind === 'integer' ? 'numeric' : kind === 'float' ? 'decimal' : undefined}
                step={kind === 'integer' ? 1 : 'any'}
                min={tag.min}
                max={tag.max}
                value={text}
                onInput={(e) => setText(e.currentTarget.value)}
              />
            )}
          </label>
        )}
        {inputError && (
          <p class="error" role="alert">
            {inputError}
          </p>
        )}
        <button type="submit" class="primary" disabled={busy}>
          Write…
        </button>
      </form>

      {result && (
        <p class={result.ok ? 'result ok' : 'result bad'} role="status" data-testid="write-result">
          {result.ok
            ? `Written: the device reads back ${formatValue(result.value, tag.unit)} (${formatTime(result.ts)}).`
            : `Refused: ${result.error}`}
        </p>
      )}

      <dialog ref={dialog} onClose={() => setConfirming(false)} aria-labelledby="confirm-title">
        <form method="dialog" onSubmit={(e) => (e.preventDefault(), void send())}>
          <h2 id="confirm-title">
            Write {tag.device}/{tag.name}?
          </h2>
          <dl class="details">
            <dt>Current</dt>
            <dd data-testid="confirm-current">{formatValue(tag.value, tag.unit)}</dd>
            <dt>New</dt>
            <dd data-testid="confirm-new">{pending === undefined ? '' : formatValue(pending, tag.unit)}</dd>
          </dl>
          {warning && <p class="warn-text">{warning}</p>}
          <div class="buttons">
            <button type="button" onClick={() => setConfirming(false)} disabled={busy}>
              Cancel
            </button>
            <button type="submit" class="primary" autoFocus disabled={busy}>
              {busy ? 'Writing…' : 'Write'}
            </button>
          </div>
        </form>
      </dialog>
    </div>
  );
}
