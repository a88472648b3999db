import { useEffect, useState, type FormEvent } from "react";
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
  type Word,
} from "../api/types";
import { useApi } from "../auth";
import { EventLegend } from "../components/EventLegend";
import { StatusBadge } from "../components/StatusBadge";
import { ErrorNote, Show } from "../components/Status";
import { Transcript } from "../components/Transcript";
import { formatDate, label, number, saveBlob, seconds } from "../format";
import { useLoad } from "../hooks";
import { LiveProgress } from "./NewSession";

export function RecordingPage() {
  const { recordingId = "" } = useParams();
  const api = useApi();
  const [recording, reload] = useLoad(() => api.recording(recordingId), [api, recordingId]);

  return (
    <Show value={recording} what="the recording" onRetry={reload}>
      {(r) => (
        <section>
          <p className="crumbs">
            {r.client_id ? <Link to={`/app/clients/${r.client_id}`}>Client</Link> : "Recording"} /
          </p>
          <div className="page-head">
            <h1>Session of {formatDate(r.recorded_at)}</h1>
            <StatusBadge status={r.status} />
          </div>
          <p className="muted">
            {r.filename ?? "recording"} · {r.task ? label(r.task) : "no task"}
            {r.duration_s !== null && ` · ${seconds(r.duration_s)}`}
          </p>
          {r.status === "processed" ? (
            <Analysis recordingId={r.id} />
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

type Span = { start: number; end: number };

/** Transcript, events and metrics of the latest annotation, and the clinician's review of it. */
function Analysis({ recordingId }: { recordingId: string }) {
  const api = useApi();
  const [loaded, reload] = useLoad(() => api.annotation(recordingId), [api, recordingId]);
  const [current, setCurrent] = useState<{ annotation: Annotation; etag: string } | null>(null);
  const [shown, setShown] = useState<Set<DisfluencyType>>(() => new Set(DISFLUENCY_TYPES));
  const [selected, setSelected] = useState<Span | null>(null);
  const [draft, setDraft] = useState<DisfluencyEvent[] | null>(null);
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
  const events = draft ?? annotation.events;

  function select(word: Word, extend: boolean) {
    setSelected((span) =>
      extend && span
        ? { start: Math.min(span.start, word.start), end: Math.max(span.end, word.end) }
        : { start: word.start, end: word.end },
    );
  }

  async function save() {
    if (!draft) return;
    setSaving(true);
    setSaveError(null);
    try {
      const next = await api.saveAnnotation(recordingId, etag, annotation.segments, draft);
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
            segments={annotation.segments}
            events={events}
            shown={shown}
            selected={selected}
            onSelect={select}
          />
          {selected && (
            <p className="muted" aria-live="polite">
              Selected {seconds(selected.start)}–{seconds(selected.end)} (shift-click a word to
              extend)
            </p>
          )}
        </div>
        <div>
          <div className="page-head">
            <h2>Events</h2>
            {reviewing ? (
              <div className="actions">
                <button type="button" className="primary" onClick={save} disabled={saving}>
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
                  setDraft(annotation.events.map((e) => ({ ...e })));
                  setSaved(false);
                }}
              >
                Review events
              </button>
            )}
          </div>
          {saveError && (
            <ErrorNote
              message={saveError.message}
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
            onChange={(next) => setDraft(next)}
          />
          {reviewing && (
            <AddEvent
              selected={selected}
              onAdd={(event) => setDraft([...(draft ?? []), event].sort((a, b) => a.start - b.start))}
            />
          )}
        </div>
      </div>
    </>
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

function EventList({
  events,
  editable,
  onChange,
}: {
  events: DisfluencyEvent[];
  editable: boolean;
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
        {events.map((event, index) => (
          <li key={`${event.start}-${event.type}-${index}`} className={`ev-${event.type}`}>
            <span className="swatch" aria-hidden="true" />
            <span className="event-text">
              <strong>{label(event.type)}</strong>
              {event.subtype && ` (${label(event.subtype)})`} · “{event.text || "…"}” ·{" "}
              {seconds(event.start)}–{seconds(event.end)}
              {event.to_review && <span className="badge review">to review</span>}
            </span>
            {editable && (
              <span className="event-edit">
                <label>
                  <span className="sr-only">Type of event at {seconds(event.start)}</span>
                  <select
                    value={event.type}
                    onChange={(e) => update(index, { type: e.target.value as DisfluencyType })}
                  >
                    {DISFLUENCY_TYPES.map((t) => (
                      <option key={t} value={t}>
                        {label(t)}
                      </option>
                    ))}
                  </select>
                </label>
                {event.type === "repetition" && (
                  <label>
                    <span className="sr-only">Kind of repetition at {seconds(event.start)}</span>
                    <select
                      value={event.subtype ?? "whole_word"}
                      onChange={(e) => update(index, { subtype: e.target.value as RepetitionKind })}
                    >
                      {REPETITION_KINDS.map((k) => (
                        <option key={k} value={k}>
                          {label(k)}
                        </option>
                      ))}
                    </select>
                  </label>
                )}
                {event.to_review && (
                  <button type="button" onClick={() => update(index, { to_review: false })}>
                    Confirm
                  </button>
                )}
                <button
                  type="button"
                  className="danger"
                  aria-label={`Remove ${event.type} at ${seconds(event.start)}`}
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
  const [type, setType] = useState<DisfluencyType>("interjection");
  const [subtype, setSubtype] = useState<RepetitionKind>("whole_word");
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
        type,
        subtype: type === "repetition" ? subtype : null,
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
      <label>
        Type
        <select value={type} onChange={(e) => setType(e.target.value as DisfluencyType)}>
          {DISFLUENCY_TYPES.map((t) => (
            <option key={t} value={t}>
              {label(t)}
            </option>
          ))}
        </select>
      </label>
      {type === "repetition" && (
        <label>
          Kind
          <select value={subtype} onChange={(e) => setSubtype(e.target.value as RepetitionKind)}>
            {REPETITION_KINDS.map((k) => (
              <option key={k} value={k}>
                {label(k)}
              </option>
            ))}
          </select>
        </label>
      )}
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
        <button key={format} type="button" className="link" onClick={get(format)}>
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
