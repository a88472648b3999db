import { useState, type FormEvent } from "react";
import { Link, Navigate, useLocation, useNavigate } from "react-router-dom";
import { errorMessage } from "../api/client";
import { useAuth } from "../auth";
import { ErrorNote } from "../components/Status";

/** Log in, or (with `signup`) create a clinic and its first admin. */
export function SignIn({ signup = false }: { signup?: boolean }) {
  const { api, user } = useAuth();
  const navigate = useNavigate();
  const signOutError = (useLocation().state as { signOutError?: string } | null)?.signOutError;
  const [clinic, setClinic] = useState("");
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  if (user) return <Navigate to="/app/clients" replace />;

  async function submit(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      if (signup) await api.signup(clinic, email, password);
      else await api.login(email, password);
      navigate("/app/clients", { replace: true });
    } catch (failure) {
      setError(errorMessage(failure));
      setBusy(false);
    }
  }

  return (
    <main className="auth-page">
      <form className="card auth-card" onSubmit={submit} aria-labelledby="auth-title">
        <h1 id="auth-title">{signup ? "Create your clinic" : "Sign in to Fluently"}</h1>
        {signOutError && (
          <ErrorNote
            message={
              "You are signed out in this tab, but the server could not end the session " +
              `(${signOutError}): reload the page and sign out again before leaving this computer.`
            }
          />
        )}
        {signup && (
          <label>
            Clinic name
            <input
              value={clinic}
              onChange={(e) => setClinic(e.target.value)}
              required
              autoComplete="organization"
            />
          </label>
        )}
        <label>
          Email
          <input
            type="email"
            value={email}
            onChange={(e) => setEmail(e.target.value)}
            required
            autoComplete="email"
          />
        </label>
        <label>
          Password
          <input
            type="password"
            value={password}
            onChange={(e) => setPassword(e.target.value)}
            required
            minLength={signup ? 12 : undefined}
            autoComplete={signup ? "new-password" : "current-password"}
          />
          {signup && <small className="muted">At least 12 characters.</small>}
        </label>
        {error && <ErrorNote message={error} />}
        <button type="submit" className="primary" disabled={busy}>
          {busy ? "Please wait…" : signup ? "Create clinic" : "Sign in"}
        </button>
        <p className="muted">
          {signup ? (
            <>
              Already have an account? <Link to="/login">Sign in</Link>
            </>
          ) : (
            <>
              New clinic? <Link to="/signup">Create an account</Link>
            </>
          )}
        </p>
      </form>
    </main>
  );
}
