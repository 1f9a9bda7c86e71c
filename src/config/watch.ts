// Watches gateway.config.json and the mapping files (and the folders new mapping files may appear
// in), debounced; each settled change yields a freshly loaded config, or the problems that keep the
// running one in place.
import { watch, type FSWatcher } from 'node:fs';
import path from 'node:path';
import { ConfigError, loadConfig, type LoadedConfig } from './load.js';
import type { ConfigProblem } from './problems.js';

export type ReloadResult = { ok: true; loaded: LoadedConfig } | { ok: false; problems: ConfigProblem[] };

/**
 * Quiet time after the last file event before reloading (ms), when the caller sets none: editors
 * write files in several steps. A run-time option, not a config key: the config cannot tune how its
 * own edits are picked up.
 */
export const DEFAULT_WATCH_DEBOUNCE_MS = 300;

export interface WatchOptions {
  /** Quiet time after the last file event before reloading; default DEFAULT_WATCH_DEBOUNCE_MS. */
  debounceMs?: number;
  /** The config already running: a reload that yields the same is not reported. */
  current?: LoadedConfig;
}

export interface ConfigWatcher {
  close(): void;
}

/** The folders to watch: the config's, every mapping file's, and the fixed part of every glob. */
function foldersOf(file: string, loaded: LoadedConfig | undefined, patterns: readonly string[]): Set<string> {
  const dir = path.dirname(file);
  const folders = new Set([dir]);
  for (const m of loaded?.mappings ?? []) folders.add(path.dirname(m.file));
  for (const pattern of patterns) {
    const fixed = pattern.split('/').filter((part, i, all) => i < all.length - 1 && !/[*?[\]{}!]/.test(part));
    folders.add(path.resolve(dir, ...fixed));
  }
  return folders;
}

const fingerprint = (loaded: LoadedConfig): string => JSON.stringify([loaded.config, loaded.mappings]);

export function watchConfig(
  file: string,
  onReload: (result: ReloadResult) => void,
  options: WatchOptions = {},
): ConfigWatcher {
  const absolute = path.resolve(file);
  const debounceMs = options.debounceMs ?? DEFAULT_WATCH_DEBOUNCE_MS;
  const watchers = new Map<string, FSWatcher>();
  let last = options.current ? fingerprint(options.current) : undefined;
  let lastProblems: string | undefined;
  let timer: NodeJS.Timeout | undefined;
  let closed = false;
  let loading = false;
  let again = false;

  const follow = (folders: Set<string>): void => {
    for (const [folder, watcher] of watchers) {
      if (folders.has(folder)) continue;
      watcher.close();
      watchers.delete(folder);
    }
    for (const folder of folders) {
      if (watchers.has(folder)) continue;
      try {
        const watcher = watch(folder, { persistent: false }, () => schedule());
        watcher.on('error', () => {
          watcher.close();
          watchers.delete(folder);
        });
        watchers.set(folder, watcher);
      } catch {
        // A folder that does not exist (yet): the next reload looks again.
      }
    }
  };

  const reload = async (): Promise<void> => {
    if (loading) {
      again = true;
      return;
    }
    loading = true;
    try {
      // An edit is checked against the drivers the running config was loaded with.
      const loaded = await loadConfig(absolute, { drivers: options.current?.drivers });
      follow(foldersOf(absolute, loaded, loaded.config.mappings));
      lastProblems = undefined;
      const print = fingerprint(loaded);
      if (!closed && print !== last) {
        last = print;
        onReload({ ok: true, loaded });
      }
    } catch (err) {
      const problems =
        err instanceof ConfigError
          ? err.problems
          : [{ file: absolute, pointer: '/', message: (err as Error).message }];
      const print = JSON.stringify(problems);
      if (!closed && print !== lastProblems) {
        lastProblems = print;
        onReload({ ok: false, problems });
      }
    } finally {
      loading = false;
      if (again && !closed) {
        again = false;
        schedule();
      }
    }
  };

  function schedule(): void {
    if (closed) return;
    if (timer) clearTimeout(timer);
    timer = setTimeout(() => void reload(), debounceMs);
  }

  follow(foldersOf(absolute, options.current, options.current?.config.mappings ?? []));
  return {
    close() {
      closed = true;
      if (timer) clearTimeout(timer);
      for (const watcher of watchers.values()) watcher.close();
      watchers.clear();
    },
  };
}
