// Client-side routing on real paths (/tags, /topics...): the gateway answers index.html for any
// path outside /api, so a reload or a shared link opens the same page.
import { useEffect, useState } from 'preact/hooks';

export type Route =
  | { page: 'overview' }
  | { page: 'tags' }
  | { page: 'tag'; device: string; name: string }
  | { page: 'topics' }
  | { page: 'mappings'; file?: string }
  | { page: 'audit' }
  | { page: 'not-found'; path: string };

export function parseRoute(pathname: string): Route {
  const parts = pathname.split('/').filter(Boolean).map(decodeURIComponent);
  const [first, second, third] = parts;
  if (parts.length === 0 || first === 'overview') return { page: 'overview' };
  if (first === 'tags' && parts.length === 1) return { page: 'tags' };
  if (first === 'tags' && second !== undefined && third !== undefined && parts.length === 3)
    return { page: 'tag', device: second, name: third };
  if (first === 'topics' && parts.length === 1) return { page: 'topics' };
  if (first === 'mappings' && parts.length <= 2) return { page: 'mappings', file: second };
  if (first === 'audit' && parts.length === 1) return { page: 'audit' };
  return { page: 'not-found', path: pathname };
}

export function tagHref(device: string, name: string): string {
  return `/tags/${encodeURIComponent(device)}/${encodeURIComponent(name)}`;
}

const listeners = new Set<() => void>();

export function navigate(href: string, replace = false): void {
  if (href === location.pathname + location.search) return;
  if (replace) history.replaceState(null, '', href);
  else history.pushState(null, '', href);
  for (const fn of listeners) fn();
}

window.addEventListener('popstate', () => {
  for (const fn of listeners) fn();
});

/** Plain left clicks on same-origin links navigate without a page load. */
document.addEventListener('click', (e) => {
  if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
  const a = (e.target as Element | null)?.closest?.('a');
  if (!a || a.target || a.hasAttribute('download') || a.origin !== location.origin) return;
  if (a.pathname.startsWith('/api/')) return;
  e.preventDefault();
  navigate(a.pathname + a.search);
});

export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseRoute(location.pathname));
  useEffect(() => {
    const update = () => setRoute(parseRoute(location.pathname));
    listeners.add(update);
    return () => void listeners.delete(update);
  }, []);
  return route;
}
