import { useState } from "react";
import { Link, useLocation } from "react-router-dom";
import type { Client } from "../api/types";
import { useApi } from "../auth";
import { ClientForm } from "../components/ClientForm";
import { MoreButton, Show } from "../components/Status";
import { formatDay } from "../format";
import { usePages } from "../hooks";

export function ClientsPage() {
  const api = useApi();
  const clients = usePages((cursor) => api.clients(cursor), [api]);
  const [adding, setAdding] = useState(false);
  const erased = (useLocation().state as { erased?: string } | null)?.erased;

  return (
    <section>
      <div className="page-head">
        <h1>Clients</h1>
        <button type="button" className="primary" onClick={() => setAdding((a) => !a)}>
          {adding ? "Cancel" : "Add client"}
        </button>
      </div>
      {erased && !adding && (
        <p className="success" role="status">
          {erased} was erased, with their sessions, audio, transcripts and reports.
        </p>
      )}
      {adding && (
        <ClientForm
          label="New client"
          saveLabel="Save client"
          onSave={async (fields) => {
            await api.createClient(fields);
            setAdding(false);
            clients.reload();
          }}
        />
      )}
      <Show value={clients.items} what="clients" onRetry={clients.reload}>
        {(items) =>
          items.length === 0 ? (
            <div className="empty">
              <p>No clients yet.</p>
              <p className="muted">Add the people you treat; their sessions and progress appear here.</p>
            </div>
          ) : (
            <ClientTable clients={items} />
          )
        }
      </Show>
      <MoreButton pages={clients} what="clients" />
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
