import { render } from "@testing-library/react";
import { vi } from "vitest";
import { MemoryRouter } from "react-router-dom";
import { Api } from "../api/client";
import { App, ROUTER_FUTURE } from "../App";
import { AuthProvider } from "../auth";

export interface Call {
  method: string;
  path: string;
  headers: Record<string, string>;
  body: unknown;
}

type Handler = (call: Call) => Response | Promise<Response>;

export function json(body: unknown, status = 200, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "Content-Type": "application/json", ...headers },
  });
}

/** An audio file as the API answers it. */
export function audio(bytes = 64, type = "audio/ogg"): Response {
  return new Response(new Uint8Array(bytes), { status: 200, headers: { "Content-Type": type } });
}

export function apiError(
  status: number,
  code: string,
  message: string,
  headers: Record<string, string> = {},
): Response {
  const response = json({ error: { code, message } }, status);
  for (const [name, value] of Object.entries(headers)) response.headers.set(name, value);
  return response;
}

export const ADMIN = {
  id: "u1",
  email: "lead@clinic.example",
  role: "admin" as const,
  tenant_id: "t1",
};

export const SESSION = { access_token: "token-1", token_type: "bearer", expires_in: 900, user: ADMIN };

/**
 * An Api whose fetch answers from `routes` ("METHOD /path?query" → handler) and records every
 * call; an unrouted call fails the test with a clear message. Signed in through the refresh
 * cookie unless `signedIn` is false.
 */
export function fakeApi(routes: Record<string, Handler>, { signedIn = true } = {}) {
  const calls: Call[] = [];
  const all: Record<string, Handler> = {
    "POST /auth/refresh": () =>
      signedIn ? json(SESSION) : apiError(401, "invalid_refresh_token", "not signed in"),
    ...routes,
  };
  const fetchImpl = async (input: RequestInfo | URL, init?: RequestInit) => {
    const path = String(input);
    const method = init?.method ?? "GET";
    const headers = (init?.headers ?? {}) as Record<string, string>;
    const body = typeof init?.body === "string" ? JSON.parse(init.body) : init?.body;
    const call = { method, path, headers, body };
    calls.push(call);
    const handler = all[`${method} ${path}`];
    if (!handler) throw new Error(`unexpected request ${method} ${path}`);
    return handler(call);
  };
  return { api: new Api(fetchImpl as typeof fetch), calls };
}

export function renderAt(path: string, api: Api) {
  return render(
    <AuthProvider client={api}>
      <MemoryRouter initialEntries={[path]} future={ROUTER_FUTURE}>
        <App />
      </MemoryRouter>
    </AuthProvider>,
  );
}

/** Files the page saves through a clicked download link, by name; ``restore`` puts the real
 * ``click`` back. */
export function spyOnDownloads() {
  const saved: string[] = [];
  const click = vi
    .spyOn(HTMLAnchorElement.prototype, "click")
    .mockImplementation(function (this: HTMLAnchorElement) {
      saved.push(this.download);
    });
  return { saved, restore: () => click.mockRestore() };
}
