import type { Quality } from '../api';

/** Good is quiet; bad and uncertain stand out and say why. */
export function QualityBadge({ quality, reason }: { quality: Quality; reason?: string }) {
  if (quality === 'good') return <span class="badge ok">good</span>;
  return (
    <span class="quality-bad" title={reason}>
      <span class={`badge ${quality === 'bad' ? 'bad' : 'warn'}`}>{quality}</span>
      {reason && <span class="reason-inline">{reason}</span>}
    </span>
  );
}
