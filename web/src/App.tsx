import { Navigate, NavLink, Outlet, Route, Routes, useNavigate } from "react-router-dom";
import { errorMessage } from "./api/client";
import { useAuth } from "./auth";
import { Loading } from "./components/Status";
import { AuditLog } from "./pages/AuditLog";
import { ClientPage } from "./pages/ClientPage";
import { ClinicPage } from "./pages/ClinicPage";
import { ClientsPage } from "./pages/ClientsPage";
import { NewSession } from "./pages/NewSession";
import { RecordingPage } from "./pages/RecordingPage";
import { ReportPage } from "./pages/ReportPage";
import { SignIn } from "./pages/SignIn";
import { UsersPage } from "./pages/UsersPage";

export const ROUTER_FUTURE = { v7_startTransition: true, v7_relativeSplatPath: true };

// Console pages live under /app so that no page's address is also an API path
// (a reload of /app/clients/<id> must get the page, not GET /clients/<id>).
export function App() {
  return (
    <Routes>
      <Route path="/login" element={<SignIn />} />
      <Route path="/signup" element={<SignIn signup />} />
      <Route path="/app" element={<SignedIn />}>
        <Route index element={<Navigate to="clients" replace />} />
        <Route path="clients" element={<ClientsPage />} />
        <Route path="clients/:clientId" element={<ClientPage />} />
        <Route path="sessions/new" element={<NewSession />} />
        <Route path="recordings/:recordingId" element={<RecordingPage />} />
        <Route path="recordings/:recordingId/report" element={<ReportPage />} />
        <Route path="admin/users" element={<UsersPage />} />
        <Route path="admin/audit" element={<AuditLog />} />
        <Route path="admin/clinic" element={<ClinicPage />} />
        <Route path="*" element={<NotFound />} />
      </Route>
      <Route path="*" element={<Navigate to="/app/clients" replace />} />
    </Routes>
  );
}

function SignedIn() {
  const { api, user, ready } = useAuth();
  const navigate = useNavigate();
  if (!ready) return <Loading what="your session" />;
  if (!user) return <Navigate to="/login" replace />;
  // The token is forgotten either way; if the API could not revoke the refresh cookie, the
  // sign-in page says so, since a reload would sign in again through it.
  const signOut = () => {
    api.logout().then(
      () => navigate("/login", { replace: true }),
      (failure: unknown) =>
        navigate("/login", { replace: true, state: { signOutError: errorMessage(failure) } }),
    );
  };
  return (
    <div className="shell">
      <a className="skip" href="#main">
        Skip to content
      </a>
      <header className="topbar">
        <span className="brand">Fluently</span>
        <nav aria-label="Main">
          <NavLink to="/app/clients" end>
            Clients
          </NavLink>
          <NavLink to="/app/sessions/new">New session</NavLink>
          {user.role === "admin" && (
            <>
              <NavLink to="/app/admin/users">Users</NavLink>
              <NavLink to="/app/admin/audit">Audit log</NavLink>
              <NavLink to="/app/admin/clinic">Clinic</NavLink>
            </>
          )}
        </nav>
        <span className="who">
          <span className="muted">{user.email}</span>
          <button type="button" onClick={signOut}>
            Sign out
          </button>
        </span>
      </header>
      <main id="main" tabIndex={-1}>
        <Outlet />
      </main>
    </div>
  );
}

function NotFound() {
  return (
    <section>
      <h1>Page not found</h1>
      <p>
        <NavLink to="/app/clients">Back to clients</NavLink>
      </p>
    </section>
  );
}
