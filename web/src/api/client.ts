// A small typed client for the Fluently API.
//
// The access token lives in this object only (never in storage); the refresh token is the
// HttpOnly cookie the API sets on /auth, so a reload signs in again through POST /auth/refresh.
// The token is refreshed a minute before it expires, and once more when a call answers
// 401 `token_expired` (a laptop that slept through the timer).

import type {
  Annotation,
  Assignment,
  AuditEvent,
  Channel,
  Client,
  ClientChanges,
  DisfluencyEvent,
  Me,
  NewClient,
  Page,
  ProgressSeries,
  Recording,
  Report,
  ReportLanguage,
  ReportSummary,
  ReportType,
  Role,
  Segment,
  Session,
  SessionTask,
  StatusEvent,
  Tenant,
  User,
} from "./types";

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    /** The resource the request conflicts with (`Location` of a 409), when the API names one. */
    readonly location: string | null = null,
  ) {
    super(message);
    this.name = "ApiError";
  }
}

/** The user-facing text of any failure: the API's `error.message`, or why the call failed. */
export function errorMessage(error: unknown): string {
  if (error instanceof ApiError) return error.message;
  if (error instanceof Error) return error.message;
  return String(error);
}

type Fetch = typeof fetch;
const REFRESH_MARGIN_S = 60;

/**
 * A 503 with `Retry-After` means a server replica is restarting (the API and its proxy add the
 * header then): a request that is safe to repeat is sent again after what it says, capped, a few
 * times, before the error is shown. A 503 without it (the database is unreachable) is shown at
 * once: waiting would not help the person looking at the page.
 */
export const RETRY_503 = { attempts: 4, maxWaitMs: 5000, defaultWaitMs: 1000 };
const IDEMPOTENT_METHODS = new Set(["GET", "HEAD"]);

async function toApiError(response: Response): Promise<ApiError> {
  try {
    const body = (await response.json()) as { error?: { code?: string; message?: string } };
    if (body.error?.message) {
      const location = response.headers.get("Location");
      return new ApiError(response.status, body.error.code ?? "error", body.error.message, location);
    }
  } catch {
    // Not the API's JSON error (a proxy's page): fall through to the status line.
  }
  return new ApiError(response.status, "http_error", `${response.status} ${response.statusText}`);
}

export interface RequestOptions {
  method?: string;
  json?: unknown;
  body?: BodyInit;
  headers?: Record<string, string>;
  signal?: AbortSignal;
  /**
   * Whether repeating the request cannot do anything twice, so a 503 may be retried. GET and
   * HEAD are; a POST only where the API makes it so (an upload: the same bytes from the same
   * user give back the recording the first attempt made). Other writes are never repeated.
   */
  idempotent?: boolean;
}

export interface UploadForm {
  file: Blob;
  filename: string;
  clientId: string;
  task: SessionTask;
  recordedAt: string;
  language?: string;
  reportType?: ReportType;
  reportLanguage?: ReportLanguage;
  /** Sent only when one channel is asked for; the API mixes both by default. */
  channel?: Channel;
}

export class Api {
  private token: string | null = null;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private refreshing: Promise<Session> | null = null;
  private listeners = new Set<(user: User | null) => void>();

  constructor(
    private readonly fetchImpl: Fetch = (...args) => fetch(...args),
    private readonly base = "",
  ) {}

  /** Called with the user on sign-in and refresh, null when the session ends. */
  onSession(listener: (user: User | null) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  get signedIn(): boolean {
    return this.token !== null;
  }

  // Auth

  async signup(tenantName: string, email: string, password: string): Promise<User> {
    const session = await this.call<Session>("/auth/signup", {
      method: "POST",
      json: { tenant_name: tenantName, email, password },
      anonymous: true,
    });
    return this.begin(session);
  }

  async login(email: string, password: string): Promise<User> {
    const session = await this.call<Session>("/auth/login", {
      method: "POST",
      json: { email, password },
      anonymous: true,
    });
    return this.begin(session);
  }

  /** Exchange the refresh cookie for a new access token; one exchange at a time. */
  async refresh(): Promise<User> {
    this.refreshing ??= this.call<Session>("/auth/refresh", { method: "POST", anonymous: true });
    try {
      return this.begin(await this.refreshing);
    } catch (error) {
      this.end();
      throw error;
    } finally {
      this.refreshing = null;
    }
  }

  async logout(): Promise<void> {
    try {
      await this.call<void>("/auth/logout", { method: "POST" });
    } finally {
      this.end();
    }
  }

  me(): Promise<Me> {
    return this.call<Me>("/auth/me");
  }

  // Users and audit (admins)

  users(): Promise<User[]> {
    return this.call<User[]>("/users");
  }

  addUser(email: string, password: string, role: Role): Promise<User> {
    return this.call<User>("/users", { method: "POST", json: { email, password, role } });
  }

  tenant(): Promise<Tenant> {
    return this.call<Tenant>("/tenant");
  }

  /** Days after upload before audio is deleted; null keeps it. */
  setAudioRetention(days: number | null): Promise<Tenant> {
    return this.call<Tenant>("/tenant", { method: "PATCH", json: { audio_retention_days: days } });
  }

  auditEvents(action: string, cursor: string | null): Promise<Page<AuditEvent>> {
    return this.call<Page<AuditEvent>>(`/audit_events${query({ action, cursor, limit: 50 })}`);
  }

  // Clients

  clients(cursor: string | null = null): Promise<Page<Client>> {
    return this.call<Page<Client>>(`/clients${query({ cursor, limit: 50 })}`);
  }

  client(id: string): Promise<Client> {
    return this.call<Client>(`/clients/${id}`);
  }

  createClient(body: NewClient): Promise<Client> {
    return this.call<Client>("/clients", { method: "POST", json: body });
  }

  /** Change the fields given; null clears an optional one. */
  updateClient(id: string, changes: ClientChanges): Promise<Client> {
    return this.call<Client>(`/clients/${id}`, { method: "PATCH", json: changes });
  }

  /** Erase the client and everything held about them (admins). */
  eraseClient(id: string): Promise<void> {
    return this.call<void>(`/clients/${id}`, { method: "DELETE" });
  }

  assignments(id: string): Promise<Assignment[]> {
    return this.call<Assignment[]>(`/clients/${id}/assignments`);
  }

  assign(id: string, userId: string): Promise<Assignment> {
    return this.call<Assignment>(`/clients/${id}/assignments`, {
      method: "POST",
      json: { user_id: userId },
    });
  }

  unassign(id: string, userId: string): Promise<void> {
    return this.call<void>(`/clients/${id}/assignments/${userId}`, { method: "DELETE" });
  }

  clientRecordings(id: string, cursor: string | null = null): Promise<Page<Recording>> {
    return this.call<Page<Recording>>(`/clients/${id}/recordings${query({ cursor, limit: 50 })}`);
  }

  progress(id: string, metric: string): Promise<ProgressSeries> {
    return this.call<ProgressSeries>(`/clients/${id}/progress${query({ metric })}`);
  }

  // Recordings

  upload(form: UploadForm): Promise<{ recording_id: string; status: string }> {
    const data = new FormData();
    data.append("file", form.file, form.filename);
    data.append("client_id", form.clientId);
    data.append("task", form.task);
    data.append("recorded_at", form.recordedAt);
    data.append("language", form.language ?? "en");
    if (form.reportType) data.append("report_type", form.reportType);
    if (form.reportLanguage) data.append("report_language", form.reportLanguage);
    if (form.channel && form.channel !== "mix") data.append("channel", form.channel);
    return this.call("/audio_recordings", { method: "POST", body: data, idempotent: true });
  }

  recording(id: string): Promise<Recording> {
    return this.call<Recording>(`/audio_recordings/${id}`);
  }

  /**
   * The recording's audio as a Blob. An <audio src> cannot send the bearer header, so the
   * console fetches the file and plays it from an object URL.
   */
  async audio(id: string, signal?: AbortSignal): Promise<Blob> {
    const response = await this.send(`/audio_recordings/${id}/audio`, {
      headers: { Accept: "audio/*" },
      signal,
    });
    return response.blob();
  }

  /**
   * Follow a recording's status events until a terminal one. The stream needs the bearer
   * header, which EventSource cannot send, so it is read with fetch.
   */
  async followEvents(
    id: string,
    onEvent: (event: StatusEvent) => void,
    signal: AbortSignal,
  ): Promise<void> {
    const response = await this.send(`/audio_recordings/${id}/events`, {
      headers: { Accept: "text/event-stream" },
      signal,
    });
    if (!response.body) throw new ApiError(0, "no_stream", "The browser cannot read the stream.");
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += value.replace(/\r\n/g, "\n");
      let end: number;
      while ((end = buffer.indexOf("\n\n")) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const event = parseEvent(block);
        if (event?.name === "status") onEvent(JSON.parse(event.data) as StatusEvent);
      }
    }
  }

  annotation(id: string): Promise<{ annotation: Annotation; etag: string }> {
    return this.withEtag<Annotation>(`/audio_recordings/${id}/annotation`).then(
      ([annotation, etag]) => ({ annotation, etag }),
    );
  }

  /** Save a review; `etag` is the version it was made from (412 if someone saved since). */
  async saveAnnotation(
    id: string,
    etag: string,
    segments: Segment[],
    events: DisfluencyEvent[],
  ): Promise<{ annotation: Annotation; etag: string }> {
    const [annotation, next] = await this.withEtag<Annotation>(
      `/audio_recordings/${id}/annotation`,
      { method: "PUT", json: { segments, events }, headers: { "If-Match": etag } },
    );
    return { annotation, etag: next };
  }

  reports(recordingId: string): Promise<Page<ReportSummary>> {
    return this.call<Page<ReportSummary>>(`/audio_recordings/${recordingId}/reports?limit=50`);
  }

  report(id: string): Promise<Report> {
    return this.call<Report>(`/reports/${id}`);
  }

  requestReport(recordingId: string, type: ReportType, language: ReportLanguage): Promise<Report> {
    return this.call<Report>(`/audio_recordings/${recordingId}/reports`, {
      method: "POST",
      json: { type, language },
    });
  }

  /** A file the API answers (transcript, export), as a Blob with its suggested name. */
  async download(path: string, fallbackName: string): Promise<{ blob: Blob; filename: string }> {
    const response = await this.send(path, {});
    const disposition = response.headers.get("Content-Disposition") ?? "";
    const named = /filename="?([^";]+)"?/.exec(disposition)?.[1];
    return { blob: await response.blob(), filename: named ?? fallbackName };
  }

  // Plumbing

  async call<T>(path: string, options: RequestOptions & { anonymous?: boolean } = {}): Promise<T> {
    const response = await this.send(path, options);
    if (response.status === 204) return undefined as T;
    return (await response.json()) as T;
  }

  private async withEtag<T>(path: string, options: RequestOptions = {}): Promise<[T, string]> {
    const response = await this.send(path, options);
    return [(await response.json()) as T, response.headers.get("ETag") ?? ""];
  }

  /** One request; a 401 `token_expired` refreshes once and tries again. Non-2xx throws. */
  private async send(
    path: string,
    options: RequestOptions & { anonymous?: boolean },
  ): Promise<Response> {
    let response = await this.attempt(path, options);
    if (response.status === 401 && !options.anonymous && this.token !== null) {
      const error = await toApiError(response.clone());
      if (error.code === "token_expired") {
        await this.refresh();
        response = await this.attempt(path, options);
      }
    }
    if (!response.ok) {
      const error = await toApiError(response);
      if (response.status === 401 && !options.anonymous) this.end();
      throw error;
    }
    return response;
  }

  /** `attemptOnce`, again after `Retry-After` (capped) while the server restarts, if safe. */
  private async attempt(
    path: string,
    options: RequestOptions & { anonymous?: boolean },
  ): Promise<Response> {
    const method = (options.method ?? "GET").toUpperCase();
    const retryable = options.idempotent ?? IDEMPOTENT_METHODS.has(method);
    for (let attempt = 1; ; attempt++) {
      const response = await this.attemptOnce(path, options);
      const restarting = response.status === 503 && response.headers.has("Retry-After");
      if (!restarting || !retryable || attempt >= RETRY_503.attempts) return response;
      await response.body?.cancel();
      await sleep(retryAfterMs(response), options.signal);
    }
  }

  private attemptOnce(path: string, options: RequestOptions & { anonymous?: boolean }) {
    const headers: Record<string, string> = { Accept: "application/json", ...options.headers };
    if (this.token && !options.anonymous) headers.Authorization = `Bearer ${this.token}`;
    let body = options.body;
    if (options.json !== undefined) {
      headers["Content-Type"] = "application/json";
      body = JSON.stringify(options.json);
    }
    return this.fetchImpl(`${this.base}${path}`, {
      method: options.method ?? "GET",
      headers,
      body,
      credentials: "same-origin",
      signal: options.signal,
    });
  }

  private begin(session: Session): User {
    this.token = session.access_token;
    if (this.timer) clearTimeout(this.timer);
    const inMs = Math.max(session.expires_in - REFRESH_MARGIN_S, 5) * 1000;
    this.timer = setTimeout(() => {
      this.refresh().catch(() => undefined);
    }, inMs);
    this.listeners.forEach((listener) => listener(session.user));
    return session.user;
  }

  private end(): void {
    const wasSignedIn = this.token !== null;
    this.token = null;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (wasSignedIn) this.listeners.forEach((listener) => listener(null));
  }
}

/** Every item of a cursor-paged list, read page after page. */
export async function everyPage<T>(load: (cursor: string | null) => Promise<Page<T>>): Promise<T[]> {
  const items: T[] = [];
  let cursor: string | null = null;
  do {
    const page = await load(cursor);
    items.push(...page.items);
    cursor = page.next_cursor;
  } while (cursor);
  return items;
}

/** `Retry-After` in seconds or as an HTTP date, within [0, RETRY_503.maxWaitMs]. */
export function retryAfterMs(response: Response, now = Date.now()): number {
  const value = response.headers.get("Retry-After");
  let wait = RETRY_503.defaultWaitMs;
  if (value !== null && /^\d+$/.test(value.trim())) wait = Number(value) * 1000;
  else if (value !== null && !Number.isNaN(Date.parse(value))) wait = Date.parse(value) - now;
  return Math.min(Math.max(wait, 0), RETRY_503.maxWaitMs);
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

function query(params: Record<string, string | number | null | undefined>): string {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value !== null && value !== undefined && value !== "") search.set(key, String(value));
  }
  const text = search.toString();
  return text ? `?${text}` : "";
}

function parseEvent(block: string): { name: string; data: string } | null {
  let name = "message";
  const data: string[] = [];
  for (const line of block.split("\n")) {
    if (line.startsWith(":")) continue;
    const colon = line.indexOf(":");
    const field = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
    if (field === "event") name = value;
    else if (field === "data") data.push(value);
  }
  return data.length ? { name, data: data.join("\n") } : null;
}

export const api = new Api();
