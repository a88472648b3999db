import { useCallback, useEffect, useRef, useState, type FormEvent, type ReactNode } from "react";
import { Link, useParams } from "react-router-dom";
import { ApiError, errorMessage } from "../api/client";
import {
  DISFLUENCY_TYPES,
  REPETITION_KINDS,
  type Annotation,
  type DisfluencyEvent,
  type DisfluencyType,
  type Metrics,
  type RepetitionKind,
  type Segment,
  type Word,
} from "../api/types";
import { useApi } from "../auth";
import { AudioPlayer } from "../components/AudioPlayer";
import { ClientCrumb } from "../components/Crumbs";
import { EventLegend } from "../components/EventLegend";
import { StatusBadge } from "../components/StatusBadge";
import { ErrorNote, Show } from "../components/Status";
import { Transcript, eventsOfWord, type WordAt } from "../components/Transcript";
import { formatDate, label, number, saveBlob, seconds } from "../format";
import { useLoad } from "../hooks";
import { LiveProgress } from "./NewSession";

/** Move the player to `time` (seconds). */
type Seek = (time: number) => void;

export function RecordingPage() {
  const { recordingId = "" } = useParams();
  const api = useApi();
  const [recording, reload] = useLoad(() => api.recording(recordingId), [api, recordingId]);
  const audioRef = useRef<HTMLAudioElement>(null);
  const [time, setTime] = useState<number | null>(null);
  const seek = useCallback<Seek>((to) => {
    const audio = audioRef.current;
    if (!audio) return;
    audio.currentTime = to;
    setTime(to);
  }, []);

  return (
    <Show value={recording} what="the recording" onRetry={reload}>
      {(r) => (
        <section>
          <p className="crumbs">
            {r.client_id ? <ClientCrumb clientId={r.client_id} /> : "Recording"} /
          </p>
          <div className="page-head">
            <h1>Session of {formatDate(r.recorded_at)}</h1>
            <StatusBadge status={r.status} />
          </div>
          <p className="muted">
            {r.filename ?? "recording"} · {r.task ? label(r.task) : "no task"}
            {r.channel !== "mix" && ` · ${r.channel} channel only`}
            {r.duration_s !== null && ` · ${seconds(r.duration_s)}`}
          </p>
          {r.transcript?.coverage?.channels_apart === true && (
            <div className="warning" role="note" aria-label="Two voices on two channels">
              <p>
                This recording&apos;s two channels carry different sounds (a microphone per
                speaker?), and both were measured together: where two people speak at once, the
                transcript and every figure mix them. To measure one speaker, upload the file again
                and choose that speaker&apos;s channel under &ldquo;Speech on&rdquo;.
              </p>
            </div>
          )}
          <AudioPlayer
            recordingId={r.id}
            deletedAt={r.audio_deleted_at}
            audioRef={audioRef}
            onTime={setTime}
          />
          {r.status === "processed" ? (
            <Analysis recordingId={r.id} time={time} seek={seek} />
          ) : r.status === "failed" ? (
            <ErrorNote message={r.error ?? "Processing failed."} />
          ) : (
            <LiveProgress recordingId={r.id} onDone={reload} />
          )}
        </section>
      )}
    </Show>
  );
}

/** "Clients / <the client's name>", the name read from the API. */
type Span = { start: number; end: number };

/** A review in progress: the words and events as the clinician is leaving them. */
interface Draft {
  segments: Segment[];
  events: DisfluencyEvent[];
  /** Words corrected so far ("segment:word"), marked in the transcript. */
  corrected: Set<string>;
}

/** Transcript, events and metrics of the latest annotation, and the clinician's review of it. */
function Analysis({
  recordingId,
  time,
  seek,
}: {
  recordingId: string;
  time: number | null;
  seek: Seek;
}) {
  const api = useApi();
  const [loaded, reload] = useLoad(() => api.annotation(recordingId), [api, recordingId]);
  const [current, setCurrent] = useState<{ annotation: Annotation; etag: string } | null>(null);
  const [shown, setShown] = useState<Set<DisfluencyType>>(() => new Set(DISFLUENCY_TYPES));
  const [selected, setSelected] = useState<Span | null>(null);
  const [focused, setFocused] = useState<WordAt | null>(null);
  const [draft, setDraft] = useState<Draft | null>(null);
  const [saving, setSaving] = useState(false);
  const [saveError, setSaveError] = useState<{ message: string; stale: boolean } | null>(null);
  const [saved, setSaved] = useState(false);

  useEffect(() => {
    if (loaded.state === "ready") setCurrent(loaded.value);
  }, [loaded]);

  if (loaded.state !== "ready" || current === null) {
    return (
      <Show value={loaded} what="the transcript" onRetry={reload}>
        {() => null}
      </Show>
    );
  }
  const { annotation, etag } = current;
  const reviewing = draft !== null;
  const segments = draft?.segments ?? annotation.segments;
  const events = draft?.events ?? annotation.events;
  const problems = draft ? timingProblems(draft.events) : [];
  const focusedWord = focused ? segments[focused.segment]?.words[focused.word] : undefined;

  function select(word: Word, extend: boolean, at: WordAt) {
    setSelected((span) =>
      extend && span
        ? { start: Math.min(span.start, word.start), end: Math.max(span.end, word.end) }
        : { start: word.start, end: word.end },
    );
    setFocused(at);
    if (!extend) seek(word.start);
  }

  async function save() {
    if (!draft) return;
    setSaving(true);
    setSaveError(null);
    try {
      const next = await api.saveAnnotation(recordingId, etag, draft.segments, draft.events);
      setCurrent(next);
      setDraft(null);
      setSaved(true);
    } catch (failure) {
      const stale = failure instanceof ApiError && failure.status === 412;
      setSaveError({
        message: stale
          ? "Someone saved a newer review of this recording while you were editing, so yours " +
            "was not saved. Load the latest version and make your changes again."
          : errorMessage(failure),
        stale,
      });
    } finally {
      setSaving(false);
    }
  }

  return (
    <>
      <MetricsSummary metrics={annotation.metrics} />
      <Untranscribed metrics={annotation.metrics} onSeek={seek} />
      <Unclear metrics={annotation.metrics} onSeek={seek} />
      <p className="muted">
        Annotation version {annotation.version}
        {annotation.reviewed_at
          ? ` · reviewed ${formatDate(annotation.reviewed_at)}`
          : " · automatic analysis"}
      </p>
      {saved && !reviewing && (
        <p className="success" role="status">
          Review saved as version {annotation.version}; the metrics are recomputed.
        </p>
      )}
      <Downloads recordingId={recordingId} />

      <div className="analysis">
        <div>
          <h2>Transcript</h2>
          <EventLegend events={events} shown={shown} onChange={setShown} />
          <Transcript
            segments={segments}
            events={events}
            shown={shown}
            selected={selected}
            time={time}
            corrected={draft?.corrected}
            onSelect={select}
          />
          <p className="muted" aria-live="polite">
            {selected
              ? `Selected ${seconds(selected.start)}–${seconds(selected.end)}. `
              : "Click a word to move the player to it. "}
            Shift-click a word to extend the selection.
          </p>
          {reviewing && focused && focusedWord && (
            <WordCorrection
              key={`${focused.segment}:${focused.word}`}
              word={focusedWord}
              onCorrect={(text) => setDraft(correctWord(draft, focused, text))}
            />
          )}
        </div>
        <div>
          <div className="page-head">
            <h2>Events</h2>
            {reviewing ? (
              <div className="actions">
                <button
                  type="button"
                  className="primary"
                  onClick={save}
                  disabled={saving || problems.length > 0}
                >
                  {saving ? "Saving…" : "Save review"}
                </button>
                <button
                  type="button"
                  onClick={() => {
                    setDraft(null);
                    setSaveError(null);
                  }}
                >
                  Cancel
                </button>
              </div>
            ) : (
              <button
                type="button"
                onClick={() => {
                  setDraft({
                    segments: annotation.segments,
                    events: annotation.events.map((e) => ({ ...e })),
                    corrected: new Set(),
                  });
                  setSaved(false);
                }}
              >
                Review
              </button>
            )}
          </div>
          {reviewing && (
            <p className="muted">
              Relabel, re-time, confirm or remove events; add one over the selected words;
              select a word in the transcript to correct it.
            </p>
          )}
          {problems.length > 0 && <ErrorNote message={problems.join(" ")} />}
          {saveError && (
            <ErrorNote
              message={saveError.message}
              retryLabel="Load the latest version"
              onRetry={
                saveError.stale
                  ? () => {
                      setDraft(null);
                      setSaveError(null);
                      reload();
                    }
                  : undefined
              }
            />
          )}
          <EventList
            events={events}
            editable={reviewing}
            onSeek={seek}
            onChange={(next) => draft && setDraft({ ...draft, events: next })}
          />
          {reviewing && (
            <AddEvent
              selected={selected}
              onAdd={(event) =>
                setDraft({
                  ...draft,
                  events: [...draft.events, withWords(event, draft.segments)].sort(
                    (a, b) => a.start - b.start,
                  ),
                })
              }
            />
          )}
        </div>
      </div>
    </>
  );
}

/** Events whose times cannot be saved, in words. */
function timingProblems(events: DisfluencyEvent[]): string[] {
  return events.flatMap((event, index) =>
    !Number.isFinite(event.start) || !Number.isFinite(event.end) || event.start < 0
      ? [`Event ${index + 1} needs a start and an end of zero or more seconds.`]
      : event.end < event.start
        ? [`Event ${index + 1} ends before it starts.`]
        : [],
  );
}

/** The draft with one word's text replaced; events over that word take the new text. */
export function correctWord(draft: Draft, at: WordAt, text: string): Draft {
  const segments = draft.segments.map((segment, si) => {
    if (si !== at.segment) return segment;
    const words = segment.words.map((word, wi) =>
      wi === at.word ? { ...word, word: (/^\s*/.exec(word.word)?.[0] ?? "") + text.trim() } : word,
    );
    return { ...segment, words, text: words.map((w) => w.word).join("").trim() };
  });
  const word = segments[at.segment]?.words[at.word];
  const events = word
    ? draft.events.map((event) =>
        eventsOfWord(word, [event]).length ? withWords(event, segments) : event,
      )
    : draft.events;
  return {
    segments,
    events,
    corrected: new Set([...draft.corrected, `${at.segment}:${at.word}`]),
  };
}

/** The event with its text taken from the words in its span (as the API counts them). */
function withWords(event: DisfluencyEvent, segments: Segment[]): DisfluencyEvent {
  const words = segments
    .flatMap((s) => s.words)
    .filter((w) => eventsOfWord(w, [event]).length > 0)
    .map((w) => w.word.trim());
  return { ...event, text: words.join(" ") };
}

function WordCorrection({ word, onCorrect }: { word: Word; onCorrect: (text: string) => void }) {
  const [text, setText] = useState(word.word.trim());
  const unchanged = text.trim() === word.word.trim();

  function submit(event: FormEvent) {
    event.preventDefault();
    if (text.trim() && !unchanged) onCorrect(text);
  }

  return (
    <form className="card word-correction" onSubmit={submit} aria-label="Correct a word">
      <label>
        Correct the word at {seconds(word.start)}
        <input value={text} onChange={(e) => setText(e.target.value)} required />
      </label>
      <button type="submit" disabled={!text.trim() || unchanged}>
        Apply correction
      </button>
    </form>
  );
}

const SUMMARY: [keyof Metrics & string, string, number][] = [
  ["percent_syllables_stuttered", "%SS", 1],
  ["syllables_per_minute", "Syllables/min", 0],
  ["words_per_minute", "Words/min", 0],
  ["disfluencies_per_minute", "Disfluencies/min", 1],
  ["stuttering_like_disfluencies", "Stuttering-like", 0],
  ["word_count", "Words", 0],
];

function MetricsSummary({ metrics }: { metrics: Metrics }) {
  return (
    <dl className="metrics" aria-label="Metrics">
      {SUMMARY.map(([key, name, digits]) => (
        <div key={key} data-metric={key}>
          <dt>{name}</dt>
          <dd>{number(metrics[key], digits)}</dd>
        </div>
      ))}
    </dl>
  );
}

/**
 * Voiced audio the analysis left without words, when there is enough of it that the numbers
 * may miss speech (the API's `untranscribed_notice`): each stretch plays from its start.
 */
function Untranscribed({ metrics, onSeek }: { metrics: Metrics; onSeek: Seek }) {
  if (metrics.untranscribed_notice !== true) return null;
  return (
    <StretchesNote
      label="Not transcribed"
      play="Play the audio without words at"
      stretches={metrics.untranscribed ?? []}
      onSeek={onSeek}
    >
      {number(metrics.untranscribed_s)} s of audio that sounds like speech gave no words: speech
      in another language, a second voice, speech too unclear for the model, or noise. Nothing in
      it is counted, so the numbers cover the transcribed speech only. Listen to it before relying
      on them:
    </StretchesNote>
  );
}

/**
 * Stretches whose words the model was guessing at (the API's `unclear`): what was found there
 * is listed to review, not counted; each stretch plays from its start.
 */
function Unclear({ metrics, onSeek }: { metrics: Metrics; onSeek: Seek }) {
  const stretches = metrics.unclear ?? [];
  if (stretches.length === 0) return null;
  return (
    <StretchesNote
      label="Words the model guessed at"
      play="Play the words the model guessed at"
      stretches={stretches}
      onSeek={onSeek}
    >
      For {number(metrics.unclear_s)} s the model was unsure of word after word (speech in another
      language, mumbling or noise), so its words there are guesses: what was found in these
      stretches is listed to review, not counted. Listen to them:
    </StretchesNote>
  );
}

/** A warning with its text and a list of stretches, each a button that plays from its start. */
function StretchesNote({
  label,
  play,
  stretches,
  onSeek,
  children,
}: {
  label: string;
  play: string;
  stretches: [number, number][];
  onSeek: Seek;
  children: ReactNode;
}) {
  return (
    <div className="warning" role="note" aria-label={label}>
      <p>{children}</p>
      <ul>
        {stretches.map(([start, end]) => (
          <li key={start}>
            <button
              type="button"
              className="link"
              aria-label={`${play} ${seconds(start)}`}
              onClick={() => onSeek(start)}
            >
              {seconds(start)}–{seconds(end)}
            </button>
          </li>
        ))}
      </ul>
    </div>
  );
}

/**
 * An event's type and, for a repetition, its kind: one pair of selects for listed events
 * (labels for screen readers only) and for the event being added (labels shown).
 */
function EventTypeFields({
  type,
  subtype,
  typeLabel,
  kindLabel,
  hideLabels = false,
  onChange,
}: {
  type: DisfluencyType;
  subtype: RepetitionKind | null | undefined;
  typeLabel: string;
  kindLabel: string;
  hideLabels?: boolean;
  onChange: (change: { type: DisfluencyType; subtype: RepetitionKind | null }) => void;
}) {
  const kind = subtype ?? "whole_word";
  const caption = (text: string) => (hideLabels ? <span className="sr-only">{text}</span> : text);
  return (
    <>
      <label>
        {caption(typeLabel)}
        <select
          value={type}
          onChange={(e) => {
            const next = e.target.value as DisfluencyType;
            onChange({ type: next, subtype: next === "repetition" ? kind : null });
          }}
        >
          {DISFLUENCY_TYPES.map((t) => (
            <option key={t} value={t}>
              {label(t)}
            </option>
          ))}
        </select>
      </label>
      {type === "repetition" && (
        <label>
          {caption(kindLabel)}
          <select
            value={kind}
            onChange={(e) => onChange({ type, subtype: e.target.value as RepetitionKind })}
          >
            {REPETITION_KINDS.map((k) => (
              <option key={k} value={k}>
                {label(k)}
              </option>
            ))}
          </select>
        </label>
      )}
    </>
  );
}

/** A time in seconds typed by hand; the value changes only while the text is a number. */
function SecondsInput({
  label: caption,
  value,
  onValue,
}: {
  label: string;
  value: number;
  onValue: (value: number) => void;
}) {
  const [text, setText] = useState(value.toFixed(2));
  useEffect(() => {
    // Keep what is typed while it means the value (or means nothing yet); show outside changes.
    setText((shown) =>
      Number.isNaN(value) || (shown.trim() !== "" && Number(shown) === value)
        ? shown
        : value.toFixed(2),
    );
  }, [value]);
  return (
    <label className="seconds">
      <span className="sr-only">{caption}</span>
      <input
        type="number"
        step="0.01"
        min="0"
        inputMode="decimal"
        value={text}
        onChange={(e) => {
          setText(e.target.value);
          const parsed = Number(e.target.value);
          onValue(e.target.value.trim() === "" ? Number.NaN : parsed);
        }}
      />
    </label>
  );
}

function EventList({
  events,
  editable,
  onSeek,
  onChange,
}: {
  events: DisfluencyEvent[];
  editable: boolean;
  onSeek: Seek;
  onChange: (events: DisfluencyEvent[]) => void;
}) {
  const toReview = events.filter((e) => e.to_review);
  if (events.length === 0) return <p className="muted">No disfluency events.</p>;
  const update = (index: number, change: Partial<DisfluencyEvent>) =>
    onChange(events.map((e, i) => (i === index ? withType({ ...e, ...change }) : e)));
  return (
    <>
      {toReview.length > 0 && (
        <p className="note">
          {toReview.length} event{toReview.length === 1 ? "" : "s"} to review: detected with low
          confidence and not counted until confirmed.
        </p>
      )}
      <ul className="events" aria-label="Events">
        {/* Keyed by position: re-timing an event must not remount the field being typed in. */}
        {events.map((event, index) => (
          <li key={index} className={`ev-${event.type}`}>
            <span className="swatch" aria-hidden="true" />
            <span className="event-text">
              <strong>{label(event.type)}</strong>
              {event.subtype && ` (${label(event.subtype)})`} · “{event.text || "…"}” ·{" "}
              <button
                type="button"
                className="link"
                aria-label={`Play ${event.type} at ${seconds(event.start)}`}
                onClick={() => onSeek(event.start)}
              >
                {Number.isFinite(event.start) ? seconds(event.start) : "?"}–
                {Number.isFinite(event.end) ? seconds(event.end) : "?"}
              </button>
              {event.to_review && <span className="badge review">to review</span>}
            </span>
            {editable && (
              <span className="event-edit">
                <EventTypeFields
                  type={event.type}
                  subtype={event.subtype}
                  typeLabel={`Type of event ${index + 1}`}
                  kindLabel={`Kind of repetition ${index + 1}`}
                  hideLabels
                  onChange={(change) => update(index, change)}
                />
                <SecondsInput
                  label={`Start of event ${index + 1} (seconds)`}
                  value={event.start}
                  onValue={(start) => update(index, { start })}
                />
                <span aria-hidden="true">–</span>
                <SecondsInput
                  label={`End of event ${index + 1} (seconds)`}
                  value={event.end}
                  onValue={(end) => update(index, { end })}
                />
                {event.to_review && (
                  <button type="button" onClick={() => update(index, { to_review: false })}>
                    Confirm
                  </button>
                )}
                <button
                  type="button"
                  className="danger"
                  aria-label={`Remove event ${index + 1}, ${event.type}`}
                  onClick={() => onChange(events.filter((_, i) => i !== index))}
                >
                  Remove
                </button>
              </span>
            )}
          </li>
        ))}
      </ul>
    </>
  );
}

/** A repetition needs its kind; other types have none. */
function withType(event: DisfluencyEvent): DisfluencyEvent {
  if (event.type === "repetition") return { ...event, subtype: event.subtype ?? "whole_word" };
  return { ...event, subtype: null };
}

function AddEvent({
  selected,
  onAdd,
}: {
  selected: Span | null;
  onAdd: (event: DisfluencyEvent) => void;
}) {
  const [kind, setKind] = useState<{ type: DisfluencyType; subtype: RepetitionKind | null }>({
    type: "interjection",
    subtype: null,
  });
  const [start, setStart] = useState("");
  const [end, setEnd] = useState("");

  useEffect(() => {
    if (selected) {
      setStart(selected.start.toFixed(2));
      setEnd(selected.end.toFixed(2));
    }
  }, [selected]);

  function submit(event: FormEvent) {
    event.preventDefault();
    onAdd(
      withType({
        ...kind,
        text: "",
        start: Number(start),
        end: Number(end),
        to_review: false,
        evidence: ["clinician"],
      }),
    );
  }

  return (
    <form className="card add-event" onSubmit={submit} aria-label="Add an event">
      <h3>Add an event</h3>
      <p className="muted">Click a word in the transcript (shift-click to extend) to set its span.</p>
      <EventTypeFields
        type={kind.type}
        subtype={kind.subtype}
        typeLabel="Type"
        kindLabel="Kind"
        onChange={setKind}
      />
      <label>
        Start (s)
        <input
          type="number"
          step="0.01"
          min="0"
          value={start}
          onChange={(e) => setStart(e.target.value)}
          required
        />
      </label>
      <label>
        End (s)
        <input
          type="number"
          step="0.01"
          min="0"
          value={end}
          onChange={(e) => setEnd(e.target.value)}
          required
        />
      </label>
      <button type="submit">Add event</button>
    </form>
  );
}

function Downloads({ recordingId }: { recordingId: string }) {
  const api = useApi();
  const [error, setError] = useState<string | null>(null);
  const get = (format: string) => async () => {
    setError(null);
    try {
      const { blob, filename } = await api.download(
        `/audio_recordings/${recordingId}/transcript?format=${format}`,
        `transcript.${format}`,
      );
      saveBlob(blob, filename);
    } catch (failure) {
      setError(errorMessage(failure));
    }
  };
  return (
    <div className="downloads">
      <span className="muted">Transcript:</span>
      {["txt", "srt", "vtt"].map((format) => (
        <button
          key={format}
          type="button"
          className="link"
          aria-label={`Download the transcript as .${format}`}
          onClick={get(format)}
        >
          .{format}
        </button>
      ))}
      <Link className="button" to={`/app/recordings/${recordingId}/report`}>
        Report
      </Link>
      {error && <ErrorNote message={error} />}
    </div>
  );
}
