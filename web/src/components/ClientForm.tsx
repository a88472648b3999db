import { useState, type FormEvent } from "react";
import { errorMessage } from "../api/client";
import type { Client, ClientChanges, NewClient } from "../api/types";
import { ErrorNote } from "./Status";

/** What the form holds, as the API takes it: blanks are null. */
function fields(name: string, ref: string, birth: string, notes: string): NewClient {
  return {
    display_name: name.trim(),
    external_ref: ref.trim() || null,
    date_of_birth: birth || null,
    notes: notes.trim() || null,
  };
}

/** The fields of `next` that differ from `client`: what a PATCH should send. */
export function changedFields(client: Client, next: NewClient): ClientChanges {
  const changes: ClientChanges = {};
  if (next.display_name !== client.display_name) changes.display_name = next.display_name;
  if ((next.external_ref ?? null) !== client.external_ref) changes.external_ref = next.external_ref;
  if ((next.date_of_birth ?? null) !== client.date_of_birth) changes.date_of_birth = next.date_of_birth;
  if ((next.notes ?? null) !== client.notes) changes.notes = next.notes;
  return changes;
}

/**
 * A client's fields: empty to add a client, filled from `client` to edit one. `onSave` gets
 * the fields (blanks as null); its failure is shown with the API's message.
 */
export function ClientForm({
  client,
  label,
  saveLabel,
  onSave,
  onCancel,
}: {
  client?: Client;
  label: string;
  saveLabel: string;
  onSave: (fields: NewClient) => Promise<void>;
  onCancel?: () => void;
}) {
  const [name, setName] = useState(client?.display_name ?? "");
  const [ref, setRef] = useState(client?.external_ref ?? "");
  const [birth, setBirth] = useState(client?.date_of_birth ?? "");
  const [notes, setNotes] = useState(client?.notes ?? "");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  async function submit(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await onSave(fields(name, ref, birth, notes));
    } catch (failure) {
      setError(errorMessage(failure));
    } finally {
      setBusy(false);
    }
  }

  return (
    <form className="card form-grid" onSubmit={submit} aria-label={label}>
      <label>
        Name
        <input value={name} onChange={(e) => setName(e.target.value)} required />
      </label>
      <label>
        Record number
        <input value={ref} onChange={(e) => setRef(e.target.value)} />
      </label>
      <label>
        Date of birth
        <input type="date" value={birth} onChange={(e) => setBirth(e.target.value)} />
      </label>
      <label className="wide">
        Notes
        <textarea value={notes} onChange={(e) => setNotes(e.target.value)} rows={2} />
      </label>
      {error && <ErrorNote message={error} />}
      <div className="wide actions">
        <button type="submit" className="primary" disabled={busy}>
          {busy ? "Saving…" : saveLabel}
        </button>
        {onCancel && (
          <button type="button" onClick={onCancel} disabled={busy}>
            Cancel
          </button>
        )}
      </div>
    </form>
  );
}
