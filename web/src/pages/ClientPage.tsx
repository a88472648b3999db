import { useState } from "react";
import { Link, useParams } from "react-router-dom";
import { errorMessage } from "../api/client";
import type { Client, ProgressSeries, Recording } from "../api/types";
import { useAuth } from "../auth";
import { Assignments, EraseClient } from "../components/ClientAdmin";
import { ClientForm, changedFields } from "../components/ClientForm";
import { ProgressChart } from "../components/ProgressChart";
import { StatusBadge } from "../components/StatusBadge";
import { ErrorNote, MoreButton, Show } from "../components/Status";
import { formatDate, formatDay, label, number, saveBlob } from "../format";
import { useLoad, usePages } from "../hooks";

export function ClientPage() {
  const { clientId = "" } = useParams();
  const { api, user } = useAuth();
  const [loaded, reloadClient] = useLoad(() => api.client(clientId), [api, clientId]);
  const [edited, setEdited] = useState<Client | null>(null);
  const [editing, setEditing] = useState(false);
  const [savedNote, setSavedNote] = useState(false);
  const client =
    loaded.state === "ready" && edited?.id === clientId ? { ...loaded, value: edited } : loaded;
  const isAdmin = user?.role === "admin";
  const sessions = usePages((cursor) => api.clientRecordings(clientId, cursor), [api, clientId]);
  const [charts, reloadCharts] = useLoad(
    () =>
      Promise.all([
        api.progress(clientId, "percent_syllables_stuttered"),
        api.progress(clientId, "syllables_per_minute"),
      ]),
    [api, clientId],
  );
  const [exporting, setExporting] = useState(false);
  const [exportError, setExportError] = useState<string | null>(null);

  async function exportClient() {
    setExporting(true);
    setExportError(null);
    try {
      const { blob, filename } = await api.download(`/clients/${clientId}/export`, "client.zip");
      saveBlob(blob, filename);
    } catch (failure) {
      setExportError(errorMessage(failure));
    } finally {
      setExporting(false);
    }
  }

  return (
    <Show value={client} what="the client" onRetry={reloadClient}>
      {(c) => (
        <section>
          <p className="crumbs">
            <Link to="/app/clients">Clients</Link> /
          </p>
          <div className="page-head">
            <h1>{c.display_name}</h1>
            <div className="actions">
              <Link className="button primary" to={`/app/sessions/new?client=${c.id}`}>
                New session
              </Link>
              <button type="button" onClick={exportClient} disabled={exporting}>
                {exporting ? "Preparing export…" : "Export (zip)"}
              </button>
              <button
                type="button"
                aria-expanded={editing}
                onClick={() => {
                  setEditing((open) => !open);
                  setSavedNote(false);
                }}
              >
                {editing ? "Close editing" : "Edit details"}
              </button>
            </div>
          </div>
          {exportError && <ErrorNote message={exportError} />}
          {savedNote && (
            <p className="success" role="status">
              Details saved.
            </p>
          )}
          {editing && (
            <ClientForm
              client={c}
              label="Edit client"
              saveLabel="Save details"
              onCancel={() => setEditing(false)}
              onSave={async (fields) => {
                const changes = changedFields(c, fields);
                if (Object.keys(changes).length > 0) {
                  setEdited(await api.updateClient(c.id, changes));
                }
                setEditing(false);
                setSavedNote(true);
              }}
            />
          )}
          <dl className="facts">
            <div>
              <dt>Record no.</dt>
              <dd>{c.external_ref ?? "—"}</dd>
            </div>
            <div>
              <dt>Date of birth</dt>
              <dd>{c.date_of_birth ? formatDay(c.date_of_birth) : "—"}</dd>
            </div>
            {c.notes && (
              <div className="wide">
                <dt>Notes</dt>
                <dd>{c.notes}</dd>
              </div>
            )}
          </dl>

          <h2>Progress</h2>
          <Show value={charts} what="progress" onRetry={reloadCharts}>
            {([ss, spm]) => (
              <div className="charts">
                <ProgressChart series={ss} title="% syllables stuttered" />
                <ProgressChart series={spm} title="Syllables per minute" />
              </div>
            )}
          </Show>

          <h2>Sessions</h2>
          <Show value={sessions.items} what="sessions" onRetry={sessions.reload}>
            {(items) =>
              items.length === 0 ? (
                <div className="empty">
                  <p>No sessions yet.</p>
                  <Link to={`/app/sessions/new?client=${c.id}`}>Record or upload the first one</Link>
                </div>
              ) : (
                <SessionTable
                  sessions={items}
                  values={charts.state === "ready" ? valuesByRecording(charts.value) : new Map()}
                />
              )
            }
          </Show>
          <MoreButton pages={sessions} what="sessions" />

          <Assignments clientId={c.id} canChange={isAdmin} />
          {isAdmin && <EraseClient client={c} />}
        </section>
      )}
    </Show>
  );
}

type SessionValues = Map<string, { ss: number | null; spm: number | null }>;

/** Each session's %SS and rate as the progress series give them (reviewed values preferred). */
function valuesByRecording([ss, spm]: ProgressSeries[]): SessionValues {
  const values: SessionValues = new Map();
  for (const p of ss?.points ?? []) values.set(p.recording_id, { ss: p.value, spm: null });
  for (const p of spm?.points ?? []) {
    values.set(p.recording_id, { ss: values.get(p.recording_id)?.ss ?? null, spm: p.value });
  }
  return values;
}

function SessionTable({ sessions, values }: { sessions: Recording[]; values: SessionValues }) {
  return (
    <div className="table-wrap">
      <table>
        <thead>
          <tr>
            <th scope="col">Recorded</th>
            <th scope="col">Task</th>
            <th scope="col">Status</th>
            <th scope="col">%SS</th>
            <th scope="col">Syll./min</th>
          </tr>
        </thead>
        <tbody>
          {sessions.map((s) => (
            <tr key={s.id}>
              <td>
                <Link to={`/app/recordings/${s.id}`}>{formatDate(s.recorded_at)}</Link>
              </td>
              <td>{s.task ? label(s.task) : "—"}</td>
              <td>
                <StatusBadge status={s.status} />
              </td>
              <td>{number(values.get(s.id)?.ss)}</td>
              <td>{number(values.get(s.id)?.spm, 0)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
