// Checking and saving a mapping edit: the same loader as `tagwire validate` (the edited text in
// place of the file), a summary from the config diff, a backup of the previous version, and an
// atomic write (temp file in the same folder, fsync, rename).
import { randomBytes } from 'node:crypto';
import { copyFile, mkdir, open, readdir, rename, rm, stat, unlink } from 'node:fs/promises';
import path from 'node:path';
import { diffConfig, type ConfigDiff } from '../../config/diff.js';
import { ConfigError, formatProblem, loadConfig, type LoadedConfig } from '../../config/load.js';
import type { ChangeSummary, ProblemView } from './shapes.js';

export type { ChangeSummary, ProblemView };

export type Checked =
  { ok: true; next: LoadedConfig; summary: ChangeSummary } | { ok: false; problems: ProblemView[] };

/** Backups kept per mapping file. */
const KEEP_BACKUPS = 20;

export function summarize(diff: ConfigDiff): ChangeSummary {
  const ref = (t: { device: string; tag: string }): string => `${t.device}/${t.tag}`;
  return {
    tagsAdded: diff.tags.added.map(ref),
    tagsRemoved: diff.tags.removed.map(ref),
    tagsChanged: diff.tags.changed.map(ref),
    devicesRestarted: [...diff.devices.changed, ...diff.devices.added],
    restartNeeded: Object.entries(diff.restart)
      .filter(([, changed]) => changed)
      .map(([block]) => block),
  };
}

export function emptySummary(): ChangeSummary {
  return { tagsAdded: [], tagsRemoved: [], tagsChanged: [], devicesRestarted: [], restartNeeded: [] };
}

function view(problem: { file: string; pointer: string; message: string }): ProblemView {
  const at = /at line (\d+), column (\d+)/.exec(problem.message);
  return {
    ...problem,
    text: formatProblem(problem),
    ...(at && { line: Number(at[1]), column: Number(at[2]) }),
  };
}

/** Loads the whole config with `content` as the file's text: every problem, or the new config and what it changes. */
export async function checkEdit(running: LoadedConfig, file: string, content: string): Promise<Checked> {
  let next: LoadedConfig;
  try {
    next = await loadConfig(running.file, { contents: new Map([[file, content]]), drivers: running.drivers });
  } catch (err) {
    if (err instanceof ConfigError) return { ok: false, problems: err.problems.map(view) };
    throw err;
  }
  return { ok: true, next, summary: summarize(diffConfig(running, next)) };
}

/** Copies the file to `<dataDir>/backups/mappings/<name>.<time>.bak`, keeping the last few; returns the copy's path. */
export async function backup(dataDir: string, name: string, file: string): Promise<string> {
  const folder = path.join(dataDir, 'backups', 'mappings');
  await mkdir(folder, { recursive: true });
  const base = name.replace(/[/\\]/g, '__').replace(/^\.+/, '_');
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const target = path.join(folder, `${base}.${stamp}.bak`);
  await copyFile(file, target);
  const old = (await readdir(folder)).filter((f) => f.startsWith(`${base}.`) && f.endsWith('.bak')).sort();
  for (const extra of old.slice(0, Math.max(0, old.length - KEEP_BACKUPS)))
    await rm(path.join(folder, extra), { force: true });
  return target;
}

/** Replaces the file's content in one step: readers see the old file or the new one, never half. */
export async function writeAtomically(file: string, content: string): Promise<void> {
  const dir = path.dirname(file);
  // A dot file: `*.json` globs (and the watcher's reload) never pick up the temporary.
  const temp = path.join(dir, `.${path.basename(file)}.${randomBytes(6).toString('hex')}.tmp`);
  const mode = (await stat(file)).mode & 0o777;
  const handle = await open(temp, 'wx', mode);
  try {
    await handle.writeFile(content, 'utf8');
    await handle.sync();
  } catch (err) {
    await handle.close();
    await unlink(temp).catch(() => undefined);
    throw err;
  }
  await handle.close();
  try {
    await rename(temp, file);
  } catch (err) {
    await unlink(temp).catch(() => undefined);
    throw err;
  }
}
