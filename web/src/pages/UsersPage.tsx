import { useState, type FormEvent } from "react";
import { errorMessage } from "../api/client";
import type { Role } from "../api/types";
import { useApi, useAuth } from "../auth";
import { ErrorNote, Show } from "../components/Status";
import { formatDay, label } from "../format";
import { useLoad } from "../hooks";

export function UsersPage() {
  const api = useApi();
  const { user } = useAuth();
  const [users, reload] = useLoad(() => api.users(), [api]);
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [role, setRole] = useState<Role>("member");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  if (user?.role !== "admin") {
    return <ErrorNote message="Only a clinic's admins manage its users." />;
  }

  async function submit(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await api.addUser(email, password, role);
      setEmail("");
      setPassword("");
      reload();
    } catch (failure) {
      setError(errorMessage(failure));
    } finally {
      setBusy(false);
    }
  }

  return (
    <section>
      <h1>Users</h1>
      <Show value={users} what="users" onRetry={reload}>
        {(list) => (
          <div className="table-wrap">
            <table>
              <thead>
                <tr>
                  <th scope="col">Email</th>
                  <th scope="col">Role</th>
                  <th scope="col">Since</th>
                </tr>
              </thead>
              <tbody>
                {list.map((u) => (
                  <tr key={u.id}>
                    <td>{u.email}</td>
                    <td>{label(u.role)}</td>
                    <td>{u.created_at ? formatDay(u.created_at) : "—"}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </Show>
      <h2>Add a user</h2>
      <form className="card form-grid" onSubmit={submit} aria-label="Add a user">
        <label>
          Email
          <input type="email" value={email} onChange={(e) => setEmail(e.target.value)} required />
        </label>
        <label>
          Initial password
          <input
            type="password"
            value={password}
            onChange={(e) => setPassword(e.target.value)}
            minLength={12}
            required
            autoComplete="new-password"
          />
        </label>
        <label>
          Role
          <select value={role} onChange={(e) => setRole(e.target.value as Role)}>
            <option value="member">Member</option>
            <option value="admin">Admin</option>
          </select>
        </label>
        {error && <ErrorNote message={error} />}
        <div className="wide">
          <button type="submit" className="primary" disabled={busy}>
            {busy ? "Adding…" : "Add user"}
          </button>
        </div>
      </form>
    </section>
  );
}
