import { useEffect, useState, type FormEvent } from "react";
import { errorMessage } from "../api/client";
import type { Tenant } from "../api/types";
import { useApi, useAuth } from "../auth";
import { ErrorNote, Show } from "../components/Status";
import { useLoad } from "../hooks";

/** The clinic's settings (admins): how long recorded audio is kept. */
export function ClinicPage() {
  const api = useApi();
  const { user } = useAuth();
  const admin = user?.role === "admin";
  const [tenant, reload] = useLoad(() => (admin ? api.tenant() : Promise.resolve(null)), [api, admin]);

  return (
    <section>
      <h1>Clinic settings</h1>
      {admin ? (
        <Show value={tenant} what="the clinic's settings" onRetry={reload}>
          {(t) => t && <RetentionForm tenant={t} />}
        </Show>
      ) : (
        // As the users and audit pages: no "Try again", which could not succeed.
        <ErrorNote message="Only a clinic's admins change its settings." />
      )}
    </section>
  );
}

const MAX_DAYS = 3650;

export function RetentionForm({ tenant }: { tenant: Tenant }) {
  const api = useApi();
  const [current, setCurrent] = useState(tenant);
  const [keep, setKeep] = useState(tenant.audio_retention_days === null);
  const [days, setDays] = useState(String(tenant.audio_retention_days ?? 365));
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [saved, setSaved] = useState(false);

  useEffect(() => setSaved(false), [keep, days]);

  async function submit(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      setCurrent(await api.setAudioRetention(keep ? null : Number(days)));
      setSaved(true);
    } catch (failure) {
      setError(errorMessage(failure));
    } finally {
      setBusy(false);
    }
  }

  return (
    <form className="card retention" onSubmit={submit} aria-label="Audio retention">
      <h2>{current.name}: audio retention</h2>
      <p className="muted">
        {current.audio_retention_days === null
          ? "Audio is kept until someone deletes the recording."
          : `Audio is deleted ${current.audio_retention_days} days after upload.`}{" "}
        Transcripts, annotations and reports always stay; a daily job removes the audio.
      </p>
      <fieldset>
        <legend>Recorded audio</legend>
        <label className="choice">
          <input type="radio" name="retention" checked={keep} onChange={() => setKeep(true)} />
          Keep it until the recording is deleted
        </label>
        <label className="choice">
          <input type="radio" name="retention" checked={!keep} onChange={() => setKeep(false)} />
          Delete it a number of days after upload
        </label>
        {!keep && (
          <label>
            Days to keep audio
            <input
              type="number"
              min="1"
              max={MAX_DAYS}
              step="1"
              value={days}
              onChange={(e) => setDays(e.target.value)}
              required
            />
          </label>
        )}
      </fieldset>
      {error && <ErrorNote message={error} />}
      {saved && (
        <p className="success" role="status">
          Saved.
        </p>
      )}
      <button type="submit" className="primary" disabled={busy}>
        {busy ? "Saving…" : "Save retention"}
      </button>
    </form>
  );
}
