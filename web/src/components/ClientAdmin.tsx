import { useState, type FormEvent } from "react";
import { useNavigate } from "react-router-dom";
import { errorMessage } from "../api/client";
import type { Client } from "../api/types";
import { useApi } from "../auth";
import { formatDay, label } from "../format";
import { useLoad } from "../hooks";
import { ErrorNote, Show } from "./Status";

/**
 * Who sees the client: the users assigned to them. Admins assign a user of the clinic and
 * remove an assignment; everyone else reads the list.
 */
export function Assignments({ clientId, canChange }: { clientId: string; canChange: boolean }) {
  const api = useApi();
  const [assigned, reload] = useLoad(() => api.assignments(clientId), [api, clientId]);
  const [users, reloadUsers] = useLoad(
    () => (canChange ? api.users() : Promise.resolve([])),
    [api, canChange],
  );
  const [chosen, setChosen] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  async function change(action: () => Promise<unknown>) {
    setBusy(true);
    setError(null);
    try {
      await action();
      setChosen("");
      reload();
    } catch (failure) {
      setError(errorMessage(failure));
    } finally {
      setBusy(false);
    }
  }

  function submit(event: FormEvent) {
    event.preventDefault();
    if (chosen) void change(() => api.assign(clientId, chosen));
  }

  return (
    <section aria-labelledby="assigned-heading">
      <h2 id="assigned-heading">Clinicians assigned</h2>
      <p className="muted">
        Members see the clients assigned to them; admins see every client.
      </p>
      {error && <ErrorNote message={error} />}
      <Show value={assigned} what="the assigned clinicians" onRetry={reload}>
        {(list) => (
          <>
            {list.length === 0 ? (
              <p className="empty">No one is assigned yet.</p>
            ) : (
              <ul className="assignments" aria-label="Assigned clinicians">
                {list.map((a) => (
                  <li key={a.user_id}>
                    <span>
                      {a.email} <span className="muted">({label(a.role)}, since {formatDay(a.assigned_at)})</span>
                    </span>
                    {canChange && (
                      <button
                        type="button"
                        className="danger"
                        disabled={busy}
                        aria-label={`Unassign ${a.email}`}
                        onClick={() => void change(() => api.unassign(clientId, a.user_id))}
                      >
                        Unassign
                      </button>
                    )}
                  </li>
                ))}
              </ul>
            )}
            {canChange && (
              <Show value={users} what="the clinic's users" onRetry={reloadUsers}>
                {(all) => {
                  const free = all.filter((u) => !list.some((a) => a.user_id === u.id));
                  return free.length === 0 ? (
                    <p className="muted">Every user of the clinic is assigned.</p>
                  ) : (
                    <form className="inline-form" onSubmit={submit} aria-label="Assign a clinician to this client">
                      <label>
                        Clinician to assign
                        <select value={chosen} onChange={(e) => setChosen(e.target.value)} required>
                          <option value="">Choose a user…</option>
                          {free.map((u) => (
                            <option key={u.id} value={u.id}>
                              {u.email} ({label(u.role)})
                            </option>
                          ))}
                        </select>
                      </label>
                      <button type="submit" disabled={busy || !chosen}>
                        Assign
                      </button>
                    </form>
                  );
                }}
              </Show>
            )}
          </>
        )}
      </Show>
    </section>
  );
}

/**
 * Erasure (admins): the client and everything held about them go for good, so the admin
 * types the client's name to confirm.
 */
export function EraseClient({ client }: { client: Client }) {
  const api = useApi();
  const navigate = useNavigate();
  const [open, setOpen] = useState(false);
  const [typed, setTyped] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const confirmed = typed.trim() === client.display_name.trim();

  async function submit(event: FormEvent) {
    event.preventDefault();
    if (!confirmed) return;
    setBusy(true);
    setError(null);
    try {
      await api.eraseClient(client.id);
      navigate("/app/clients", { replace: true, state: { erased: client.display_name } });
    } catch (failure) {
      setError(errorMessage(failure));
      setBusy(false);
    }
  }

  return (
    <section className="danger-zone" aria-labelledby="erase-heading">
      <h2 id="erase-heading">Erase this client</h2>
      <p className="muted">
        Deletes the client, every session, its audio, transcripts, annotations and reports, and
        queued work. It cannot be undone; the audit log keeps its entries, which hold ids only.
        Export first if the clinic must keep a copy.
      </p>
      {!open ? (
        <button type="button" className="danger" onClick={() => setOpen(true)}>
          Erase client…
        </button>
      ) : (
        <form className="card" onSubmit={submit} aria-label="Erase client">
          <label>
            Type the client&apos;s name, {client.display_name}, to confirm
            <input
              value={typed}
              onChange={(e) => setTyped(e.target.value)}
              autoComplete="off"
              required
            />
          </label>
          {error && <ErrorNote message={error} />}
          <div className="actions">
            <button type="submit" className="danger" disabled={!confirmed || busy}>
              {busy ? "Erasing…" : "Erase permanently"}
            </button>
            <button
              type="button"
              disabled={busy}
              onClick={() => {
                setOpen(false);
                setTyped("");
                setError(null);
              }}
            >
              Cancel
            </button>
          </div>
        </form>
      )}
    </section>
  );
}
