// One tag: live value and quality, its details and a sample payload, a trend of its last minutes,
// and the write control for operators and admins.
import type { Me, Tag } from '../api';
import { formatAge, formatDateTime, formatValue, unitText } from '../format';
import { useLive, useNow, useTitle } from '../hooks';
import { live, tagKey } from '../live';
import { atLeast } from '../session';
import { QualityBadge } from '../components/quality';
import { Trend } from '../components/trend';
import { WriteControl } from '../components/write';

/** The payload a subscriber of the tag's topic receives, as the gateway builds it. */
function samplePayload(tag: Tag): string {
  const payload: Record<string, unknown> = {
    value: tag.value ?? null,
    ts: tag.ts ?? Date.now(),
    quality: tag.quality ?? 'bad',
  };
  if (tag.unit) payload.unit = tag.unit;
  if (tag.reason) payload.reason = tag.reason;
  return JSON.stringify(payload, null, 2);
}

function isTrendable(tag: Tag): boolean {
  return typeof tag.value === 'number' || typeof tag.value === 'boolean';
}

export function TagPage({ device, name, me }: { device: string; name: string; me: Me }) {
  useTitle(`${device}/${name}`);
  useLive('tags');
  const now = useNow();
  const key = tagKey(device, name);
  const tag = live.tags.get(key);
  if (!tag)
    return (
      <section>
        <h1>
          {device}/{name}
        </h1>
        <p class="muted">{live.tags.size === 0 ? 'Loading…' : 'No such tag in the current mappings.'}</p>
        <a href="/tags">All tags</a>
      </section>
    );

  const canWrite = atLeast(me.role, 'operator');
  const range =
    tag.min !== undefined || tag.max !== undefined
      ? `${tag.min === undefined ? '…' : formatValue(tag.min)} to ${tag.max === undefined ? '…' : formatValue(tag.max)} ${unitText(tag.unit)}`
      : 'any value of its type';
  return (
    <section class="tag-page">
      <nav class="crumbs" aria-label="Breadcrumb">
        <a href="/tags">Tags</a> › <a href={`/tags?device=${encodeURIComponent(device)}`}>{device}</a> ›{' '}
        {name}
      </nav>
      <header class="tag-head">
        <h1>{name}</h1>
        <p class={`big-value q-${tag.quality ?? 'none'}`} data-testid="tag-value" aria-live="polite">
          {formatValue(tag.value, tag.unit)}
        </p>
        {tag.quality && <QualityBadge quality={tag.quality} reason={tag.reason} />}
        <span class="muted">
          {tag.ts === undefined
            ? 'no value yet'
            : `${formatAge(now - tag.ts)} ago, ${formatDateTime(tag.ts)}`}
        </span>
      </header>

      <div class="two-col">
        <div>
          <h2>Last 5 minutes</h2>
          {isTrendable(tag) ? (
            <Trend tagKey={key} label={name} unit={tag.unit} />
          ) : (
            <p class="muted">
              No trend for {tag.value === undefined ? 'a tag without a value yet' : 'non-numeric values'}.
            </p>
          )}
          {tag.writable && canWrite && <WriteControl tag={tag} />}
          {tag.writable && !canWrite && (
            <p class="muted" data-testid="no-write">
              Writable by operators and admins; you are a {me.role}.
            </p>
          )}
        </div>
        <div>
          <h2>Details</h2>
          <dl class="details">
            <dt>Device</dt>
            <dd>{tag.device}</dd>
            <dt>Address</dt>
            <dd class="mono">{tag.address}</dd>
            <dt>Type</dt>
            <dd class="mono">{tag.type}</dd>
            <dt>Unit</dt>
            <dd>{unitText(tag.unit) || '–'}</dd>
            <dt>Topic</dt>
            <dd class="mono">{tag.topic}</dd>
            <dt>Writable</dt>
            <dd>{tag.writable ? `yes, ${range}` : 'no'}</dd>
            {tag.writable && (
              <>
                <dt>Command topic</dt>
                <dd class="mono">{tag.topic}/set</dd>
              </>
            )}
          </dl>
          <h3>Sample payload</h3>
          <pre class="payload" data-testid="sample-payload">
            {samplePayload(tag)}
          </pre>
        </div>
      </div>
    </section>
  );
}
