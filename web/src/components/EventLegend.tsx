import { DISFLUENCY_TYPES, type DisfluencyEvent, type DisfluencyType } from "../api/types";
import { label } from "../format";

/** Disfluency types with their colour, count and a switch to show or hide them. The count is
 * of counted events, as the metrics and the report give it, with those to review beside it. */
export function EventLegend({
  events,
  shown,
  onChange,
}: {
  events: DisfluencyEvent[];
  shown: ReadonlySet<DisfluencyType>;
  onChange: (shown: Set<DisfluencyType>) => void;
}) {
  const toggle = (type: DisfluencyType) => {
    const next = new Set(shown);
    if (next.has(type)) next.delete(type);
    else next.add(type);
    onChange(next);
  };
  return (
    <fieldset className="legend">
      <legend>Disfluency types</legend>
      {DISFLUENCY_TYPES.map((type) => {
        const ofType = events.filter((e) => e.type === type);
        const listed = ofType.filter((e) => e.to_review).length;
        const counted = ofType.length - listed;
        return (
          <label key={type} className={`legend-item ev-${type}`}>
            <input type="checkbox" checked={shown.has(type)} onChange={() => toggle(type)} />
            <span className="swatch" aria-hidden="true" />
            {label(type)}{" "}
            <span className="count">({listed ? `${counted} + ${listed} to review` : counted})</span>
          </label>
        );
      })}
      <p className="muted legend-note">Dashed: detected with low confidence, to review (not counted).</p>
    </fieldset>
  );
}
