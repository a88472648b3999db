import type { ProgressSeries } from "../api/types";
import { formatDay, label, number } from "../format";

const WIDTH = 560;
const HEIGHT = 220;
const PAD = { left: 48, right: 16, top: 16, bottom: 40 };

/**
 * One metric over a client's sessions, oldest first. Reviewed values are filled dots,
 * automatic ones hollow; sessions without a value (syllables not counted) are left out.
 */
export function ProgressChart({ series, title }: { series: ProgressSeries; title: string }) {
  const points = series.points.filter((p) => p.value !== null);
  if (points.length === 0) {
    return (
      <figure className="chart">
        <figcaption>{title}</figcaption>
        <p className="muted">No processed sessions with this measure yet.</p>
      </figure>
    );
  }
  const values = points.map((p) => p.value as number);
  const top = niceTop(Math.max(...values));
  const innerW = WIDTH - PAD.left - PAD.right;
  const innerH = HEIGHT - PAD.top - PAD.bottom;
  const x = (i: number) =>
    PAD.left + (points.length === 1 ? innerW / 2 : (i * innerW) / (points.length - 1));
  const y = (v: number) => PAD.top + innerH - (v / top) * innerH;
  const ticks = [0, top / 2, top];
  const path = points.map((p, i) => `${i ? "L" : "M"}${x(i)},${y(p.value as number)}`).join(" ");
  const summary = points
    .map((p) => `${formatDay(p.recorded_at)}: ${number(p.value)}${p.reviewed ? " (reviewed)" : ""}`)
    .join("; ");

  return (
    <figure className="chart">
      <figcaption>
        {title} <span className="muted">({series.unit})</span>
      </figcaption>
      <svg
        viewBox={`0 0 ${WIDTH} ${HEIGHT}`}
        role="img"
        aria-label={`${title} over ${points.length} sessions. ${summary}`}
        data-metric={series.metric}
      >
        {ticks.map((t) => (
          <g key={t}>
            <line className="grid" x1={PAD.left} x2={WIDTH - PAD.right} y1={y(t)} y2={y(t)} />
            <text className="tick" x={PAD.left - 6} y={y(t) + 4} textAnchor="end">
              {t === 0 ? "0" : number(t, t < 10 ? 1 : 0)}
            </text>
          </g>
        ))}
        <path className="line" d={path} fill="none" />
        {points.map((p, i) => (
          <g key={p.recording_id}>
            <circle
              className={p.reviewed ? "point reviewed" : "point"}
              cx={x(i)}
              cy={y(p.value as number)}
              r={5}
            >
              <title>
                {`${formatDay(p.recorded_at)} · ${number(p.value)} ${series.unit}` +
                  `${p.task ? ` · ${label(p.task)}` : ""}${p.reviewed ? " · reviewed" : ""}`}
              </title>
            </circle>
            <text className="tick" x={x(i)} y={HEIGHT - PAD.bottom + 18} textAnchor="middle">
              {new Date(p.recorded_at).toLocaleDateString(undefined, {
                month: "short",
                day: "numeric",
              })}
            </text>
          </g>
        ))}
      </svg>
      <p className="legend-line muted">
        <span className="dot reviewed" aria-hidden="true" /> reviewed{" "}
        <span className="dot" aria-hidden="true" /> automatic
      </p>
    </figure>
  );
}

function niceTop(max: number): number {
  if (max <= 0) return 1;
  const magnitude = 10 ** Math.floor(Math.log10(max));
  for (const step of [1, 2, 2.5, 5, 10]) {
    if (step * magnitude >= max) return step * magnitude;
  }
  return 10 * magnitude;
}
