// Every mapped tag with its live value. Only the rows in view are rendered (10,000 tags stay
// smooth); values change in place, and the order is kept between re-sorts so rows do not jump.
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import type { Tag } from '../api';
import { formatAge, formatValue } from '../format';
import { useLive, useNow, useTitle } from '../hooks';
import { live } from '../live';
import { navigate, tagHref } from '../router';
import { QualityBadge } from '../components/quality';

type SortKey = 'device' | 'name' | 'value' | 'quality' | 'age' | 'topic';
const ROW_HEIGHT = 36;
const OVERSCAN = 8;
/** Sorts on live fields are redone this often; between them the rows stay where they are. */
const RESORT_MS = 3000;

const QUALITY_RANK = { bad: 0, uncertain: 1, good: 2 } as const;

function compare(a: Tag, b: Tag, key: SortKey): number {
  switch (key) {
    case 'device':
      return a.device.localeCompare(b.device) || a.name.localeCompare(b.name);
    case 'name':
      return a.name.localeCompare(b.name) || a.device.localeCompare(b.device);
    case 'topic':
      return a.topic.localeCompare(b.topic);
    case 'quality':
      return (QUALITY_RANK[a.quality ?? 'bad'] ?? 0) - (QUALITY_RANK[b.quality ?? 'bad'] ?? 0);
    case 'age':
      return (b.ts ?? 0) - (a.ts ?? 0);
    case 'value': {
      const x = a.value;
      const y = b.value;
      if (typeof x === 'number' && typeof y === 'number') return x - y;
      return String(x ?? '').localeCompare(String(y ?? ''));
    }
  }
}

function initialDevice(): string {
  return new URLSearchParams(location.search).get('device') ?? '';
}

export function Tags() {
  useTitle('Tags');
  useLive('tags', 'devices');
  const now = useNow();
  const [device, setDevice] = useState(initialDevice);
  const [text, setText] = useState('');
  const [sort, setSort] = useState<{ key: SortKey; desc: boolean }>({ key: 'device', desc: false });
  const [resortTick, setResortTick] = useState(0);
  const [scrollTop, setScrollTop] = useState(0);
  const [viewHeight, setViewHeight] = useState(600);
  const scroller = useRef<HTMLDivElement>(null);

  const liveSort = sort.key === 'value' || sort.key === 'quality' || sort.key === 'age';
  useEffect(() => {
    if (!liveSort) return;
    const timer = setInterval(() => setResortTick((n) => n + 1), RESORT_MS);
    return () => clearInterval(timer);
  }, [liveSort]);

  useEffect(() => {
    const el = scroller.current;
    if (!el) return;
    const observer = new ResizeObserver(() => setViewHeight(el.clientHeight));
    observer.observe(el);
    return () => observer.disconnect();
  }, []);

  const rows = useMemo(() => {
    const needle = text.trim().toLowerCase();
    const out: Tag[] = [];
    for (const tag of live.tags.values()) {
      if (device && tag.device !== device) continue;
      if (
        needle &&
        !tag.name.toLowerCase().includes(needle) &&
        !tag.topic.toLowerCase().includes(needle) &&
        !tag.address.toLowerCase().includes(needle)
      )
        continue;
      out.push(tag);
    }
    out.sort((a, b) => (sort.desc ? -1 : 1) * compare(a, b, sort.key));
    return out;
    // live.tagListVersion: rebuilt when tags come or go, not on every value change
  }, [live.tagListVersion, device, text, sort, resortTick]);

  const devices = [...live.devices.keys()].sort();
  const first = Math.max(0, Math.floor(scrollTop / ROW_HEIGHT) - OVERSCAN);
  const last = Math.min(rows.length, Math.ceil((scrollTop + viewHeight) / ROW_HEIGHT) + OVERSCAN);

  function header(key: SortKey, label: string, cls = '') {
    const active = sort.key === key;
    return (
      <button
        role="columnheader"
        class={`th ${cls}`}
        aria-sort={active ? (sort.desc ? 'descending' : 'ascending') : 'none'}
        onClick={() => setSort({ key, desc: active ? !sort.desc : false })}
      >
        {label}
        {active ? (sort.desc ? ' ▼' : ' ▲') : ''}
      </button>
    );
  }

  function onKeyDown(e: KeyboardEvent) {
    if (e.key !== 'ArrowDown' && e.key !== 'ArrowUp') return;
    const current = (document.activeElement as HTMLElement | null)?.dataset.index;
    if (current === undefined) return;
    e.preventDefault();
    const next = Math.max(0, Math.min(rows.length - 1, Number(current) + (e.key === 'ArrowDown' ? 1 : -1)));
    const el = scroller.current!;
    const top = next * ROW_HEIGHT;
    if (top < el.scrollTop) el.scrollTop = top;
    else if (top + ROW_HEIGHT > el.scrollTop + el.clientHeight)
      el.scrollTop = top + ROW_HEIGHT - el.clientHeight;
    requestAnimationFrame(() => el.querySelector<HTMLElement>(`[data-index="${next}"]`)?.focus());
  }

  return (
    <section class="tags-page">
      <div class="toolbar">
        <h1>Tags</h1>
        <label>
          Device
          <select
            aria-label="Device"
            value={device}
            onChange={(e) => {
              setDevice(e.currentTarget.value);
              const q = e.currentTarget.value ? `?device=${encodeURIComponent(e.currentTarget.value)}` : '';
              navigate(`/tags${q}`, true);
            }}
          >
            <option value="">all</option>
            {devices.map((d) => (
              <option key={d} value={d}>
                {d}
              </option>
            ))}
          </select>
        </label>
        <label class="grow">
          Filter
          <input
            type="search"
            placeholder="name, topic or address"
            value={text}
            onInput={(e) => setText(e.currentTarget.value)}
          />
        </label>
        <span class="muted" data-testid="tag-count" aria-live="polite">
          {rows.length === live.tags.size
            ? `${rows.length} tags`
            : `${rows.length} of ${live.tags.size} tags`}
        </span>
      </div>
      <div class="grid" role="grid" aria-rowcount={rows.length} onKeyDown={onKeyDown}>
        <div class="row head" role="row">
          {header('device', 'Device', 'c-device')}
          {header('name', 'Name')}
          {header('value', 'Value', 'num')}
          {header('quality', 'Quality')}
          {header('age', 'Age', 'num c-age')}
          {header('topic', 'Topic', 'c-topic')}
        </div>
        <div class="rows" ref={scroller} onScroll={(e) => setScrollTop(e.currentTarget.scrollTop)}>
          <div style={{ height: `${rows.length * ROW_HEIGHT}px`, position: 'relative' }}>
            {rows.slice(first, last).map((tag, i) => (
              <TagRow key={`${tag.device}/${tag.name}`} tag={tag} index={first + i} now={now} />
            ))}
          </div>
          {rows.length === 0 && (
            <p class="muted empty">{live.tags.size === 0 ? 'Loading tags…' : 'No tag matches.'}</p>
          )}
        </div>
      </div>
    </section>
  );
}

function TagRow({ tag, index, now }: { tag: Tag; index: number; now: number }) {
  const q = tag.quality ?? 'bad';
  return (
    <a
      class={`row q-${tag.quality ?? 'none'}`}
      role="row"
      href={tagHref(tag.device, tag.name)}
      data-index={index}
      data-tag={`${tag.device}/${tag.name}`}
      style={{ transform: `translateY(${index * ROW_HEIGHT}px)` }}
    >
      <span role="gridcell" class="c-device">
        {tag.device}
      </span>
      <span role="gridcell" class="c-name">
        {tag.name}
      </span>
      <span role="gridcell" class="num c-value" data-testid="value">
        {formatValue(tag.value, tag.unit)}
      </span>
      <span role="gridcell" class="c-quality">
        {tag.quality ? (
          <QualityBadge quality={q} reason={tag.reason} />
        ) : (
          <span class="muted">no value yet</span>
        )}
      </span>
      <span role="gridcell" class="num c-age">
        {tag.ts === undefined ? '–' : formatAge(now - tag.ts)}
      </span>
      <span role="gridcell" class="c-topic mono">
        {tag.topic}
      </span>
    </a>
  );
}
