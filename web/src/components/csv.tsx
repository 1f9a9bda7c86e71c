// Adding tags from a CSV tag list (an export of a PLC tool): the gateway turns it into a mapping
// with the same checks as `tagwire import`, and its tags are added to the file being edited.
import { useState } from 'preact/hooks';
import { api } from '../api';
import { tagsOf, type NewTag } from '../mapping-edit';

export function CsvPanel({ device, onAdd }: { device: string; onAdd: (tags: NewTag[]) => void }) {
  const [csv, setCsv] = useState('');
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);

  async function run(e: Event) {
    e.preventDefault();
    setBusy(true);
    setError('');
    try {
      const { content } = await api<{ content: string }>('/api/mappings/import-csv', {
        method: 'POST',
        body: { device, csv },
      });
      const tags = tagsOf(content);
      if (!tags) throw new Error('the gateway returned no tags');
      onAdd(tags);
      setCsv('');
    } catch (err) {
      setError(err instanceof Error ? err.message : String(err));
    } finally {
      setBusy(false);
    }
  }

  return (
    <details class="panel">
      <summary>Add tags from a CSV tag list</summary>
      <form onSubmit={run}>
        <p class="muted small">
          A header row names the columns (name, address, type, scale, unit, writable, min, max…), separated by
          commas or semicolons.
        </p>
        <label>
          CSV file
          <input
            type="file"
            accept=".csv,text/csv,text/plain"
            onChange={(e) => {
              const f = e.currentTarget.files?.[0];
              if (f) void f.text().then(setCsv);
            }}
          />
        </label>
        <label>
          or paste it
          <textarea
            name="csv"
            class="mono"
            rows={6}
            value={csv}
            onInput={(e) => setCsv(e.currentTarget.value)}
          />
        </label>
        {error && (
          <p class="error" role="alert">
            {error}
          </p>
        )}
        <button type="submit" class="primary" disabled={busy || csv.trim() === ''}>
          Import
        </button>
      </form>
    </details>
  );
}
