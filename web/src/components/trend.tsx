// A uPlot chart of one tag's last minutes from the browser's history: values held until the next
// sample (a PLC value is constant between readings), the time axis in the user's locale.
import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import { live } from '../live';
import { unitText } from '../format';

const WINDOW_SEC = 300;
const HEIGHT = 260;
const clock = new Intl.DateTimeFormat(undefined, { timeStyle: 'short' });
const clockSeconds = new Intl.DateTimeFormat(undefined, { timeStyle: 'medium' });

/** The series with the last value carried to now, so a quiet tag still draws up to the present. */
function data(tagKey: string): uPlot.AlignedData {
  const [ts, values] = live.history.series(tagKey);
  const now = Date.now() / 1000;
  if (ts.length > 0 && ts[ts.length - 1]! < now) {
    ts.push(now);
    values.push(values[values.length - 1]!);
  }
  return [ts, values];
}

export function Trend({ tagKey, label, unit }: { tagKey: string; label: string; unit?: string }) {
  const box = useRef<HTMLDivElement>(null);

  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const u = unitText(unit);
    const plot = new uPlot(
      {
        width: Math.max(200, el.clientWidth),
        height: HEIGHT,
        legend: { show: false },
        cursor: { drag: { x: false, y: false } },
        scales: {
          x: {
            time: true,
            range: () => {
              const now = Date.now() / 1000;
              return [now - WINDOW_SEC, now];
            },
          },
        },
        series: [
          {},
          {
            label: u ? `${label} (${u})` : label,
            stroke: '#1f6fb2',
            width: 2,
            paths: uPlot.paths.stepped!({ align: 1 }),
            points: { show: false },
          },
        ],
        axes: [
          {
            values: (_u, splits, _axis, _space, incr) =>
              splits.map((s) => (incr < 60 ? clockSeconds : clock).format(s * 1000)),
          },
          { label: u || undefined, size: 60 },
        ],
      },
      data(tagKey),
      el,
    );
    const redraw = () => plot.setData(data(tagKey));
    const off = live.on('tags', redraw);
    // The window slides with the clock even when the tag is quiet.
    const timer = setInterval(redraw, 1000);
    const resize = new ResizeObserver(() =>
      plot.setSize({ width: Math.max(200, el.clientWidth), height: HEIGHT }),
    );
    resize.observe(el);
    return () => {
      off();
      clearInterval(timer);
      resize.disconnect();
      plot.destroy();
    };
  }, [tagKey, label, unit]);

  return (
    <div
      class="trend"
      ref={box}
      role="img"
      aria-label={`Trend of ${label}, last ${WINDOW_SEC / 60} minutes`}
    />
  );
}
