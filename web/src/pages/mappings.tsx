// Mappings (admin): the mapping files, an editor checked by the gateway's own validation as you
// type (problems at their line), the dry-run summary, and save through hot reload. Tags can be
// added from an OPC UA browse of the device or from a CSV tag list.
import { useEffect, useRef, useState } from 'preact/hooks';
import {
  api,
  ApiError,
  type ChangeSummary,
  type MappingFile,
  type Problem,
  type SaveOutcome,
  type Validation,
} from '../api';
import { Editor, ProblemList, type EditorHandle } from '../components/editor';
import { BrowsePanel } from '../components/browse';
import { CsvPanel } from '../components/csv';
import { useLive, useTitle } from '../hooks';
import { live } from '../live';
import { locatePointer } from '../json-locate';
import { addTags, type NewTag } from '../mapping-edit';
import { navigate } from '../router';

const VALIDATE_AFTER_MS = 400;

/** Problems the gateway reports by pointer only get the line and column of that pointer in the text. */
function locate(result: Validation, content: string): Validation {
  const problems = result.problems.map((p) =>
    p.line !== undefined ? p : { ...p, ...locatePointer(content, p.pointer) },
  );
  return { ...result, problems };
}

function fileHref(file: string): string {
  return `/mappings/${encodeURIComponent(file)}`;
}

export function Mappings({ file }: { file?: string }) {
  useTitle(file ?? 'Mappings');
  const [files, setFiles] = useState<MappingFile[]>();
  const [error, setError] = useState('');

  useEffect(() => {
    api<MappingFile[]>('/api/mappings')
      .then(setFiles)
      .catch((err: Error) => setError(err.message));
  }, [file]);

  return (
    <section class="mappings">
      <h1>Mappings</h1>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      <div class="mapping-layout">
        <nav aria-label="Mapping files" class="file-list">
          {files?.length === 0 && <p class="muted">No mapping files match the config's globs.</p>}
          <ul>
            {files?.map((f) => (
              <li key={f.file}>
                <a href={fileHref(f.file)} aria-current={f.file === file ? 'page' : undefined}>
                  <span class="mono">{f.file}</span>
                  <span class="muted small">
                    {f.device}, {f.tags} tags
                  </span>
                </a>
              </li>
            ))}
          </ul>
        </nav>
        {file ? (
          <FileEditor key={file} file={file} device={files?.find((f) => f.file === file)?.device} />
        ) : (
          <p class="muted">Choose a file to edit.</p>
        )}
      </div>
    </section>
  );
}

type Check =
  | { state: 'idle' }
  | { state: 'checking' }
  | { state: 'done'; result: Validation }
  | { state: 'failed'; error: string };
type Save =
  | { state: 'idle' }
  | { state: 'saving' }
  | { state: 'saved'; outcome: SaveOutcome & { ok: true } }
  | { state: 'refused'; error: string };

function FileEditor({ file, device }: { file: string; device?: string }) {
  useLive('devices');
  const [original, setOriginal] = useState<string>();
  const [content, setContent] = useState('');
  const [loadError, setLoadError] = useState('');
  const [check, setCheck] = useState<Check>({ state: 'idle' });
  const [save, setSave] = useState<Save>({ state: 'idle' });
  const [savedProblems, setSavedProblems] = useState<Problem[]>([]);
  const [notice, setNotice] = useState('');
  const editor = useRef<EditorHandle>(null);

  useEffect(() => {
    api<{ file: string; content: string }>(`/api/mappings/${encodeURIComponent(file)}`)
      .then((r) => {
        setOriginal(r.content);
        setContent(r.content);
      })
      .catch((err: Error) => setLoadError(err.message));
  }, [file]);

  // Validate what is in the editor, a moment after the typing stops.
  useEffect(() => {
    if (original === undefined) return;
    let stale = false;
    const timer = setTimeout(() => {
      setCheck({ state: 'checking' });
      api<Validation>('/api/mappings/validate', { method: 'POST', body: { file, content } })
        .then((result) => !stale && setCheck({ state: 'done', result: locate(result, content) }))
        .catch((err: Error) => !stale && setCheck({ state: 'failed', error: err.message }));
    }, VALIDATE_AFTER_MS);
    return () => {
      stale = true;
      clearTimeout(timer);
    };
  }, [file, content, original]);

  async function onSave() {
    setSave({ state: 'saving' });
    setSavedProblems([]);
    try {
      const outcome = await api<SaveOutcome>(`/api/mappings/${encodeURIComponent(file)}`, {
        method: 'PUT',
        body: { content },
      });
      if (!outcome.ok) throw new ApiError(outcome.error, 422, outcome);
      setSave({ state: 'saved', outcome });
      setOriginal(content);
      // Hot reload applies the file in the background; the tag list follows.
      setTimeout(() => void live.reloadTags().catch(() => undefined), 1500);
    } catch (err) {
      const body = err instanceof ApiError ? (err.body as { problems?: Problem[] } | undefined) : undefined;
      setSavedProblems(locate({ ok: false, problems: body?.problems ?? [] }, content).problems);
      setSave({ state: 'refused', error: err instanceof Error ? err.message : String(err) });
    }
  }

  function add(tags: NewTag[], from: string) {
    const result = addTags(content, tags);
    if (!result.ok) {
      setNotice(`Nothing added: ${result.error}.`);
      return;
    }
    setContent(result.content);
    setNotice(
      result.added.length === 0
        ? `Nothing added from ${from}: those addresses are already mapped.`
        : `Added ${result.added.length} tag${result.added.length === 1 ? '' : 's'} from ${from}: ${result.added.join(', ')}. Review, then save.`,
    );
  }

  if (loadError)
    return (
      <p class="error" role="alert">
        {loadError}
      </p>
    );
  if (original === undefined) return <p class="muted">Loading…</p>;

  const problems = check.state === 'done' ? check.result.problems : [];
  const shown = save.state === 'refused' && savedProblems.length > 0 ? savedProblems : problems;
  const changed = content !== original;
  const driver = device ? live.devices.get(device)?.driver : undefined;

  return (
    <div class="file-editor">
      <div class="toolbar">
        <h2 class="mono">{file}</h2>
        <span class="muted" aria-live="polite" data-testid="check-state">
          {check.state === 'checking'
            ? 'checking…'
            : check.state === 'failed'
              ? `check failed: ${check.error}`
              : check.state === 'done'
                ? check.result.ok
                  ? 'valid'
                  : `${check.result.problems.length} problem${check.result.problems.length === 1 ? '' : 's'}`
                : ''}
        </span>
        <button
          onClick={() => {
            setContent(original);
            setSave({ state: 'idle' });
            setNotice('');
          }}
          disabled={!changed}
        >
          Revert
        </button>
        <button class="primary" onClick={() => void onSave()} disabled={!changed || save.state === 'saving'}>
          {save.state === 'saving' ? 'Saving…' : 'Save'}
        </button>
      </div>
      {notice && <p class="notice">{notice}</p>}
      <ProblemList problems={shown} goTo={(line, column) => editor.current?.goTo(line, column)} />
      <Editor
        value={content}
        onInput={setContent}
        problems={shown}
        label={`Contents of ${file}`}
        handle={editor}
      />
      {check.state === 'done' && check.result.ok && changed && check.result.summary && (
        <Summary summary={check.result.summary} title="Saving would change" />
      )}
      {save.state === 'saved' && (
        <div class="result ok" role="status" data-testid="save-result">
          <p>
            Saved. {save.outcome.message}
            {save.outcome.applied ? '' : ' (not applied yet)'}
          </p>
          {save.outcome.summary && <Summary summary={save.outcome.summary} title="Changed" />}
        </div>
      )}
      {save.state === 'refused' && (
        <p class="result bad" role="alert" data-testid="save-result">
          Not saved, the file is unchanged: {save.error}
        </p>
      )}
      <div class="add-panels">
        {driver === 'opcua' && device && (
          <BrowsePanel device={device} onAdd={(tags) => add(tags, `the browse of ${device}`)} />
        )}
        {device && <CsvPanel device={device} onAdd={(tags) => add(tags, 'the CSV')} />}
      </div>
      <p class="muted small">
        <a href="/mappings" onClick={(e) => (e.preventDefault(), navigate('/mappings'))}>
          All files
        </a>
      </p>
    </div>
  );
}

function Summary({ summary, title }: { summary: ChangeSummary; title: string }) {
  const parts: Array<[string, string[]]> = [
    ['tags added', summary.tagsAdded],
    ['tags removed', summary.tagsRemoved],
    ['tags changed', summary.tagsChanged],
    ['devices restarted', summary.devicesRestarted],
  ];
  const any = parts.some(([, list]) => list.length > 0);
  return (
    <div class="summary" data-testid="summary">
      <h3>{title}</h3>
      {any ? (
        <ul>
          {parts
            .filter(([, list]) => list.length > 0)
            .map(([label, list]) => (
              <li key={label}>
                {list.length} {label}: <span class="mono">{list.join(', ')}</span>
              </li>
            ))}
        </ul>
      ) : (
        <p class="muted">nothing that changes what is polled or published</p>
      )}
    </div>
  );
}
