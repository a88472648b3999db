import { screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, describe, expect, it, vi } from "vitest";
import { Api } from "../api/client";
import { ADMIN, fakeApi, json, renderAt } from "./fakeApi";

describe("the access token", () => {
  afterEach(() => vi.useRealTimers());

  it("is refreshed through the cookie a minute before it expires, and the new one is used", async () => {
    vi.useFakeTimers();
    const issued: string[] = [];
    const calls: { path: string; authorization?: string }[] = [];
    const fetchImpl = async (input: RequestInfo | URL, init?: RequestInit) => {
      const path = String(input);
      const headers = (init?.headers ?? {}) as Record<string, string>;
      calls.push({ path, authorization: headers.Authorization });
      if (path === "/auth/login" || path === "/auth/refresh") {
        issued.push(`token-${issued.length + 1}`);
        const token = issued.at(-1);
        return json({ access_token: token, token_type: "bearer", expires_in: 300, user: ADMIN });
      }
      return json({ items: [], next_cursor: null });
    };
    const api = new Api(fetchImpl as typeof fetch);
    await api.login("lead@clinic.example", "a long passphrase");

    await vi.advanceTimersByTimeAsync(239_000);
    expect(calls.filter((c) => c.path === "/auth/refresh")).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(calls.filter((c) => c.path === "/auth/refresh")).toHaveLength(1);
    expect(calls.find((c) => c.path === "/auth/refresh")?.authorization).toBeUndefined();

    await api.clients();
    expect(calls.at(-1)?.authorization).toBe("Bearer token-2");
    expect(localStorage.length + sessionStorage.length).toBe(0);
  });
});

describe("signing out", () => {
  it("revokes the refresh cookie, forgets the token and shows the sign-in page", async () => {
    const { api, calls } = fakeApi({
      "GET /clients?limit=50": () => json({ items: [], next_cursor: null }),
      "POST /auth/logout": () => new Response(null, { status: 204 }),
    });
    renderAt("/app/clients", api);
    expect(await screen.findByText("No clients yet.")).toBeInTheDocument();
    await userEvent.click(screen.getByRole("button", { name: "Sign out" }));
    expect(await screen.findByRole("heading", { name: "Sign in to Fluently" })).toBeInTheDocument();
    expect(calls.find((c) => c.path === "/auth/logout")?.headers.Authorization).toBe(
      "Bearer token-1",
    );
    expect(api.signedIn).toBe(false);
  });

  it("forgets the token when the API cannot be reached, and says the session may live on", async () => {
    const { api } = fakeApi({
      "GET /clients?limit=50": () => json({ items: [], next_cursor: null }),
      "POST /auth/logout": () => Promise.reject(new TypeError("Failed to fetch")),
    });
    renderAt("/app/clients", api);
    await userEvent.click(await screen.findByRole("button", { name: "Sign out" }));
    await waitFor(() => expect(api.signedIn).toBe(false));
    expect(await screen.findByRole("heading", { name: "Sign in to Fluently" })).toBeInTheDocument();
    expect(screen.getByRole("alert")).toHaveTextContent(
      "could not end the session (Failed to fetch)",
    );
  });
});
