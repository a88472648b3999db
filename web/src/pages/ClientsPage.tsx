import { useState, type FormEvent } from "react";
import { Link } from "react-router-dom";
import { errorMessage } from "../api/client";
import type { Client } from "../api/types";
import { useApi } from "../auth";
import { ErrorNote, Show } from "../components/Status";
import { formatDay } from "../format";
import { useLoad } from "../hooks";

export function ClientsPage() {
  const api = useApi();
  const [clients, reload] = useLoad(() => api.clients(), [api]);
  const [adding, setAdding] = useState(false);

  return (
    <section>
      <div className="page-head">
        <h1>Clients</h1>
        <button type="button" className="primary" onClick={() => setAdding((a) => !a)}>
          {adding ? "Cancel" : "Add client"}
        </button>
      </div>
      {adding && (
        <NewClientForm
          onCreated={() => {
            setAdding(false);
            reload();
          }}
        />
      )}
      <Show value={clients} what="clients" onRetry={reload}>
        {(page) =>
          page.items.length === 0 ? (
            <div className="empty">
              <p>No clients yet.</p>
              <p className="muted">Add the people you treat; their sessions and progress appear here.</p>
            </div>
          ) : (
            <ClientTable clients={page.items} />
          )
        }
      </Show>
    </section>
  );
}

function ClientTable({ clients }: { clients: Client[] }) {
  return (
    <div className="table-wrap">
      <table>
        <thead>
          <tr>
            <th scope="col">Name</th>
            <th scope="col">Record no.</th>
            <th scope="col">Date of birth</th>
            <th scope="col">Added</th>
          </tr>
        </thead>
        <tbody>
          {clients.map((client) => (
            <tr key={client.id}>
              <td>
                <Link to={`/app/clients/${client.id}`}>{client.display_name}</Link>
              </td>
              <td>{client.external_ref ?? "—"}</td>
              <td>{client.date_of_birth ? formatDay(client.date_of_birth) : "—"}</td>
              <td>{formatDay(client.created_at)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function NewClientForm({ onCreated }: { onCreated: (client: Client) => void }) {
  const api = useApi();
  const [name, setName] = useState("");
  const [ref, setRef] = useState("");
  const [birth, setBirth] = useState("");
  const [notes, setNotes] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  async function submit(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      onCreated(
        await api.createClient({
          display_name: name,
          external_ref: ref || null,
          date_of_birth: birth || null,
          notes: notes || null,
        }),
      );
    } catch (failure) {
      setError(errorMessage(failure));
    } finally {
      setBusy(false);
    }
  }

  return (
    <form className="card form-grid" onSubmit={submit} aria-label="New client">
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
      <div className="wide">
        <button type="submit" className="primary" disabled={busy}>
          {busy ? "Saving…" : "Save client"}
        </button>
      </div>
    </form>
  );
}
