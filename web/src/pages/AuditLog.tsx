import { useState } from "react";
import { errorMessage } from "../api/client";
import type { AuditEvent } from "../api/types";
import { useApi, useAuth } from "../auth";
import { ErrorNote, Show } from "../components/Status";
import { formatDate, label } from "../format";
import { useLoad } from "../hooks";

const ACTIONS = [
  "login",
  "login_failed",
  "refresh_token_reused",
  "user_created",
  "recording_read",
  "recording_deleted",
  "audio_read",
  "transcript_exported",
  "client_created",
  "client_read",
  "client_updated",
  "client_assigned",
  "client_unassigned",
  "client_exported",
  "client_erased",
  "annotation_read",
  "annotation_changed",
  "report_requested",
  "report_read",
  "tenant_updated",
  "audio_retention_applied",
  "job_retried",
];

export function AuditLog() {
  const api = useApi();
  const { user } = useAuth();
  const [action, setAction] = useState("");
  const [first, reload] = useLoad(() => api.auditEvents(action, null), [api, action]);
  const [more, setMore] = useState<{ items: AuditEvent[]; cursor: string | null } | null>(null);
  const [error, setError] = useState<string | null>(null);

  if (user?.role !== "admin") return <ErrorNote message="Only a clinic's admins see its audit log." />;

  const items = [...(first.state === "ready" ? first.value.items : []), ...(more?.items ?? [])];
  const cursor = more ? more.cursor : first.state === "ready" ? first.value.next_cursor : null;

  async function loadMore() {
    try {
      const page = await api.auditEvents(action, cursor);
      setMore({ items: [...(more?.items ?? []), ...page.items], cursor: page.next_cursor });
    } catch (failure) {
      setError(errorMessage(failure));
    }
  }

  return (
    <section>
      <div className="page-head">
        <h1>Audit log</h1>
        <label>
          Action
          <select
            value={action}
            onChange={(e) => {
              setAction(e.target.value);
              setMore(null);
            }}
          >
            <option value="">All actions</option>
            {ACTIONS.map((a) => (
              <option key={a} value={a}>
                {label(a)}
              </option>
            ))}
          </select>
        </label>
      </div>
      <Show value={first} what="the audit log" onRetry={reload}>
        {() =>
          items.length === 0 ? (
            <p className="empty">No entries.</p>
          ) : (
            <div className="table-wrap">
              <table>
                <thead>
                  <tr>
                    <th scope="col">When</th>
                    <th scope="col">Action</th>
                    <th scope="col">Who</th>
                    <th scope="col">What</th>
                    <th scope="col">Details</th>
                  </tr>
                </thead>
                <tbody>
                  {items.map((e) => (
                    <tr key={e.id}>
                      <td>{formatDate(e.at)}</td>
                      <td>{label(e.action)}</td>
                      <td className="mono">{e.actor_id ? e.actor_id.slice(0, 8) : "system"}</td>
                      <td className="mono">
                        {e.target_type ? `${e.target_type} ${e.target_id?.slice(0, 8) ?? ""}` : "—"}
                      </td>
                      <td className="mono small">{JSON.stringify(e.details)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )
        }
      </Show>
      {error && <ErrorNote message={error} />}
      {cursor && (
        <button type="button" onClick={loadMore}>
          Load older entries
        </button>
      )}
    </section>
  );
}
