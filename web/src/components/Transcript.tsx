import type { DisfluencyEvent, DisfluencyType, Segment, Word } from "../api/types";
import { label, seconds } from "../format";

/** The events a word belongs to: those whose span holds the word's middle (as the API counts). */
export function eventsOfWord(word: Word, events: DisfluencyEvent[]): DisfluencyEvent[] {
  const middle = (word.start + word.end) / 2;
  return events.filter((e) => e.start <= middle && middle <= e.end);
}

/** Where a word is in the transcript: its segment's index and its own. */
export interface WordAt {
  segment: number;
  word: number;
}

/** Whether the player, at `time`, is inside `word`. */
export function isPlaying(word: Word, time: number | null): boolean {
  return time !== null && word.start <= time && time < Math.max(word.end, word.start + 0.05);
}

/**
 * The transcript word by word. Words inside a shown event are highlighted in its type's colour;
 * the word the player is in is marked; every word is a button: a click plays from it and
 * selects it (shift-click extends the selection, the span of a new event in review).
 */
export function Transcript({
  segments,
  events,
  shown,
  selected,
  time = null,
  corrected,
  onSelect,
}: {
  segments: Segment[];
  events: DisfluencyEvent[];
  shown: ReadonlySet<DisfluencyType>;
  selected: { start: number; end: number } | null;
  /** The player's position in seconds; null when nothing plays. */
  time?: number | null;
  /** Words the clinician corrected in this review ("segment:word"). */
  corrected?: ReadonlySet<string>;
  onSelect: (word: Word, extend: boolean, at: WordAt) => void;
}) {
  const visible = events.filter((e) => shown.has(e.type));
  if (segments.every((s) => s.words.length === 0 && !s.text.trim())) {
    return <p className="muted">No speech was found in this recording.</p>;
  }
  return (
    <div className="transcript" role="region" aria-label="Transcript">
      {segments.map((segment, si) => (
        <p key={si}>
          <span className="seg-time muted">{seconds(segment.start)}</span>{" "}
          {segment.words.length === 0
            ? segment.text
            : segment.words.map((word, wi) => {
                const on = eventsOfWord(word, visible);
                const first = on[0];
                const isSelected =
                  selected !== null && word.start >= selected.start && word.end <= selected.end;
                const classes = ["word"];
                if (first) classes.push("event", `ev-${first.type}`);
                if (first?.to_review) classes.push("to-review");
                if (isSelected) classes.push("selected");
                const playing = isPlaying(word, time);
                if (playing) classes.push("playing");
                if (corrected?.has(`${si}:${wi}`)) classes.push("corrected");
                const title = on.length
                  ? on.map((e) => `${label(e.type)}${e.to_review ? " (to review)" : ""}`).join(", ")
                  : undefined;
                return (
                  <button
                    key={wi}
                    type="button"
                    className={classes.join(" ")}
                    data-event-type={first?.type}
                    title={`${seconds(word.start)}–${seconds(word.end)}${title ? ` · ${title}` : ""}`}
                    aria-pressed={isSelected}
                    aria-current={playing ? "time" : undefined}
                    data-start={word.start}
                    onClick={(e) => onSelect(word, e.shiftKey, { segment: si, word: wi })}
                  >
                    {word.word.trim()}
                  </button>
                );
              })}
        </p>
      ))}
    </div>
  );
}
