// Small hooks shared by the pages.
import { useEffect, useReducer, useState } from 'preact/hooks';
import { live, type Topic } from './live';

/** Re-renders the component when the live store changes the given topics (at most once a frame). */
export function useLive(...topics: Topic[]): void {
  const [, bump] = useReducer((n: number, _: void) => n + 1, 0);
  const key = topics.join();
  useEffect(() => {
    const offs = key.split(',').map((t) => live.on(t as Topic, () => bump()));
    return () => offs.forEach((off) => off());
  }, [key]);
}

/** The current time, refreshed every `ms`: for ages and uptimes. */
export function useNow(ms = 1000): number {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), ms);
    return () => clearInterval(timer);
  }, [ms]);
  return now;
}

/** Sets the document title for the page. */
export function useTitle(title: string): void {
  useEffect(() => {
    document.title = `${title} · tagwire`;
  }, [title]);
}
