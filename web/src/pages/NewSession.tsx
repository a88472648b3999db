import { useEffect, useState, type FormEvent } from "react";
import { Link, useSearchParams } from "react-router-dom";
import { ApiError, errorMessage, everyPage } from "../api/client";
import {
  CHANNELS,
  REPORT_LANGUAGES,
  SESSION_TASKS,
  type Channel,
  type ReportLanguage,
  type SessionTask,
  type StatusEvent,
} from "../api/types";
import { useApi } from "../auth";
import { Recorder } from "../components/Recorder";
import { StatusBadge } from "../components/StatusBadge";
import { ErrorNote, Show } from "../components/Status";
import { label } from "../format";
import { useLoad } from "../hooks";

/** The recording id a `duplicate_recording` refusal points to (its `Location`), else null. */
function duplicateOf(failure: unknown): string | null {
  if (!(failure instanceof ApiError) || failure.code !== "duplicate_recording") return null;
  return failure.location?.match(/\/audio_recordings\/([^/?#]+)$/)?.[1] ?? null;
}

function localNow(): string {
  const now = new Date();
  now.setMinutes(now.getMinutes() - now.getTimezoneOffset());
  return now.toISOString().slice(0, 16);
}

export function NewSession() {
  const api = useApi();
  const [params] = useSearchParams();
  // Every client, so the one asked for in `?client=` is among the choices however many there are.
  const [clients] = useLoad(() => everyPage((cursor) => api.clients(cursor)), [api]);
  const [clientId, setClientId] = useState(params.get("client") ?? "");
  const [task, setTask] = useState<SessionTask>("conversation");
  const [recordedAt, setRecordedAt] = useState(localNow);
  const [reportLanguage, setReportLanguage] = useState<ReportLanguage>("en");
  const [channel, setChannel] = useState<Channel>("mix");
  const [source, setSource] = useState<"record" | "upload">("record");
  const [file, setFile] = useState<File | null>(null);
  const [recorded, setRecorded] = useState<Blob | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  // The session these bytes already are, when the API refused them as a duplicate.
  const [existing, setExisting] = useState<string | null>(null);
  const [recordingId, setRecordingId] = useState<string | null>(null);

  const audio = source === "upload" ? file : recorded;

  async function submit(event: FormEvent) {
    event.preventDefault();
    if (!audio) {
      setError(source === "upload" ? "Choose an audio file." : "Record something first.");
      return;
    }
    setBusy(true);
    setError(null);
    setExisting(null);
    try {
      const accepted = await api.upload({
        file: audio,
        filename: file && source === "upload" ? file.name : "recording.webm",
        clientId,
        task,
        recordedAt: new Date(recordedAt).toISOString(),
        reportLanguage,
        // A recording made here is the microphone's own: both channels.
        channel: source === "upload" ? channel : "mix",
      });
      setRecordingId(accepted.recording_id);
    } catch (failure) {
      const duplicate = duplicateOf(failure);
      setExisting(duplicate);
      setError(
        duplicate
          ? "This audio file is already a session, with another client, task or report " +
              "language. Open that session to read it or ask for another report; a different " +
              "session needs its own recording."
          : errorMessage(failure),
      );
    } finally {
      setBusy(false);
    }
  }

  if (recordingId) {
    return (
      <section>
        <h1>Processing the session</h1>
        <LiveProgress recordingId={recordingId} />
        <p>
          <button
            type="button"
            className="link"
            onClick={() => {
              setRecordingId(null);
              setFile(null);
              setRecorded(null);
            }}
          >
            Start another session
          </button>
        </p>
      </section>
    );
  }

  return (
    <section>
      <h1>New session</h1>
      <form className="card form-grid" onSubmit={submit} aria-label="New session">
        <Show value={clients} what="clients">
          {(list) =>
            list.length === 0 ? (
              <p className="wide">
                Add a client first: <Link to="/app/clients">Clients</Link>.
              </p>
            ) : (
              <label>
                Client
                <select value={clientId} onChange={(e) => setClientId(e.target.value)} required>
                  <option value="">Choose a client…</option>
                  {list.map((c) => (
                    <option key={c.id} value={c.id}>
                      {c.display_name}
                    </option>
                  ))}
                </select>
              </label>
            )
          }
        </Show>
        <label>
          Task
          <select value={task} onChange={(e) => setTask(e.target.value as SessionTask)}>
            {SESSION_TASKS.map((t) => (
              <option key={t} value={t}>
                {label(t)}
              </option>
            ))}
          </select>
        </label>
        <label>
          Recorded at
          <input
            type="datetime-local"
            value={recordedAt}
            max={localNow()}
            onChange={(e) => setRecordedAt(e.target.value)}
            required
          />
        </label>
        <label>
          Report language
          <select
            value={reportLanguage}
            onChange={(e) => setReportLanguage(e.target.value as ReportLanguage)}
          >
            {REPORT_LANGUAGES.map((l) => (
              <option key={l} value={l}>
                {LANGUAGE_NAMES[l]}
              </option>
            ))}
          </select>
        </label>
        <fieldset className="wide">
          <legend>Audio</legend>
          <label className="inline">
            <input
              type="radio"
              name="source"
              checked={source === "record"}
              onChange={() => setSource("record")}
            />
            Record now
          </label>
          <label className="inline">
            <input
              type="radio"
              name="source"
              checked={source === "upload"}
              onChange={() => setSource("upload")}
            />
            Upload a file
          </label>
          {source === "record" ? (
            <Recorder onRecorded={setRecorded} />
          ) : (
            <label>
              Audio file
              <input
                type="file"
                accept="audio/*,video/mp4,.opus,.webm,.flac,.m4a"
                onChange={(e) => setFile(e.target.files?.[0] ?? null)}
              />
            </label>
          )}
          {source === "upload" && (
            <label>
              Speech on
              <select value={channel} onChange={(e) => setChannel(e.target.value as Channel)}>
                {CHANNELS.map((c) => (
                  <option key={c} value={c}>
                    {CHANNEL_NAMES[c]}
                  </option>
                ))}
              </select>
            </label>
          )}
        </fieldset>
        {error && <ErrorNote message={error} />}
        {existing && (
          <p className="wide">
            <Link to={`/app/recordings/${existing}`}>Open that session</Link>
          </p>
        )}
        <div className="wide">
          <button type="submit" className="primary" disabled={busy || !audio || !clientId}>
            {busy ? "Uploading…" : "Upload and analyse"}
          </button>
        </div>
      </form>
    </section>
  );
}

/** A file with a microphone per speaker keeps the client's channel only. */
const CHANNEL_NAMES: Record<Channel, string> = {
  mix: "Both channels (one microphone)",
  left: "Left channel only",
  right: "Right channel only",
};

export const LANGUAGE_NAMES: Record<ReportLanguage, string> = {
  en: "English",
  pt: "Português",
  es: "Español",
  fr: "Français",
  de: "Deutsch",
};

/** The recording's status as the API streams it, until processed or failed. */
export function LiveProgress({
  recordingId,
  onDone,
}: {
  recordingId: string;
  onDone?: () => void;
}) {
  const api = useApi();
  const [latest, setLatest] = useState<StatusEvent | null>(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    const abort = new AbortController();
    api
      .followEvents(recordingId, setLatest, abort.signal)
      .catch((failure: unknown) => abort.signal.aborted || setError(errorMessage(failure)));
    return () => abort.abort();
  }, [api, recordingId]);

  const status = latest?.status ?? "pending";
  const terminal = status === "processed" || status === "failed";
  useEffect(() => {
    if (terminal) onDone?.();
  }, [terminal, onDone]);
  const { chunks_done = 0, chunks_total = 0 } = latest?.progress ?? {};
  return (
    <div className="card" aria-live="polite">
      <p>
        Status: <StatusBadge status={status} />
      </p>
      {status !== "failed" && (
        <label>
          Transcription progress
          <progress
            max={chunks_total || 1}
            value={status === "processed" ? chunks_total || 1 : chunks_done}
          />
          <small className="muted">
            {chunks_total ? `${chunks_done} of ${chunks_total} parts` : "Waiting for a worker…"}
          </small>
        </label>
      )}
      {latest?.error && <ErrorNote message={latest.error} />}
      {error && <ErrorNote message={error} />}
      {status === "processed" && !onDone && (
        <p>
          <Link className="button primary" to={`/app/recordings/${recordingId}`}>
            Open the recording
          </Link>
        </p>
      )}
    </div>
  );
}
