import { createContext, useContext, useEffect, useState, type ReactNode } from "react";
import { api, type Api } from "./api/client";
import type { User } from "./api/types";

interface AuthState {
  api: Api;
  user: User | null;
  /** False until the refresh cookie has been tried once after the page loaded. */
  ready: boolean;
}

const AuthContext = createContext<AuthState>({ api, user: null, ready: false });

export function AuthProvider({ client = api, children }: { client?: Api; children: ReactNode }) {
  const [user, setUser] = useState<User | null>(null);
  const [ready, setReady] = useState(client.signedIn);

  useEffect(() => {
    const stop = client.onSession(setUser);
    if (!client.signedIn) {
      client
        .refresh()
        .catch(() => setUser(null))
        .finally(() => setReady(true));
    }
    return stop;
  }, [client]);

  return <AuthContext.Provider value={{ api: client, user, ready }}>{children}</AuthContext.Provider>;
}

export function useAuth(): AuthState {
  return useContext(AuthContext);
}

export function useApi(): Api {
  return useContext(AuthContext).api;
}
