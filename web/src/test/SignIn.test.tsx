import { screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { apiError, fakeApi, json, renderAt, SESSION } from "./fakeApi";

describe("sign in", () => {
  it("shows the API's message when the password is wrong", async () => {
    const { api } = fakeApi(
      { "POST /auth/login": () => apiError(401, "invalid_credentials", "wrong email or password") },
      { signedIn: false },
    );
    renderAt("/login", api);
    await userEvent.type(await screen.findByLabelText("Email"), "me@clinic.example");
    await userEvent.type(screen.getByLabelText("Password"), "not the password");
    await userEvent.click(screen.getByRole("button", { name: "Sign in" }));
    expect(await screen.findByRole("alert")).toHaveTextContent("wrong email or password");
    expect(api.signedIn).toBe(false);
  });

  it("signs in, keeps the token in memory and opens the clients", async () => {
    const { api, calls } = fakeApi(
      {
        "POST /auth/login": () => json(SESSION),
        "GET /clients?limit=50": () => json({ items: [], next_cursor: null }),
      },
      { signedIn: false },
    );
    renderAt("/login", api);
    await userEvent.type(await screen.findByLabelText("Email"), "lead@clinic.example");
    await userEvent.type(screen.getByLabelText("Password"), "a long passphrase");
    await userEvent.click(screen.getByRole("button", { name: "Sign in" }));
    expect(await screen.findByRole("heading", { name: "Clients" })).toBeInTheDocument();
    const list = calls.find((c) => c.path.startsWith("/clients"));
    expect(list?.headers.Authorization).toBe("Bearer token-1");
    expect(localStorage.length + sessionStorage.length).toBe(0);
    expect(calls.find((c) => c.path === "/auth/login")?.body).toEqual({
      email: "lead@clinic.example",
      password: "a long passphrase",
    });
  });

  it("refreshes once on token_expired and retries the call", async () => {
    let first = true;
    const { api, calls } = fakeApi({
      "GET /clients?limit=50": () => {
        if (first) {
          first = false;
          return apiError(401, "token_expired", "access token expired");
        }
        return json({ items: [], next_cursor: null });
      },
    });
    renderAt("/app/clients", api);
    expect(await screen.findByText("No clients yet.")).toBeInTheDocument();
    await waitFor(() =>
      expect(calls.filter((c) => c.path === "/auth/refresh")).toHaveLength(2),
    );
  });
});
