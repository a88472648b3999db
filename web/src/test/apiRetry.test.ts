import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { Api, ApiError, RETRY_503, retryAfterMs } from "../api/client";
import { apiError, json } from "./fakeApi";

const RECORDING = { id: "r1", status: "processing" };

function restarting(retryAfter?: string): Response {
  const response = apiError(503, "upstream_unavailable", "a service is restarting");
  if (retryAfter !== undefined) response.headers.set("Retry-After", retryAfter);
  return response;
}

/** An Api whose fetch answers `answers` in turn, recording each request's method and path. */
function scripted(...answers: (() => Response)[]) {
  const calls: string[] = [];
  const fetchImpl = async (input: RequestInfo | URL, init?: RequestInit) => {
    calls.push(`${init?.method ?? "GET"} ${String(input)}`);
    const next = answers.shift();
    if (!next) throw new Error("more requests than the test expected");
    return next();
  };
  return { api: new Api(fetchImpl as typeof fetch), calls };
}

const UPLOAD = {
  file: new Blob(["RIFF"]),
  filename: "session.wav",
  clientId: "c1",
  task: "conversation" as const,
  recordedAt: "2024-05-01T10:00:00Z",
};

describe("a 503 while a server replica restarts", () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it("is retried for a read after Retry-After, and the user sees the answer", async () => {
    const { api, calls } = scripted(
      () => restarting("2"),
      () => json(RECORDING),
    );
    const answer = api.recording("r1");
    await vi.advanceTimersByTimeAsync(1999);
    expect(calls).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    await expect(answer).resolves.toEqual(RECORDING);
    expect(calls).toEqual(["GET /audio_recordings/r1", "GET /audio_recordings/r1"]);
  });

  it("waits at most the cap, whatever Retry-After asks", async () => {
    const { api, calls } = scripted(
      () => restarting("3600"),
      () => json(RECORDING),
    );
    const answer = api.recording("r1");
    await vi.advanceTimersByTimeAsync(RETRY_503.maxWaitMs);
    await expect(answer).resolves.toEqual(RECORDING);
    expect(calls).toHaveLength(2);
  });

  it("shows the error after a bounded number of attempts", async () => {
    const { api, calls } = scripted(...Array.from({ length: 10 }, () => () => restarting("1")));
    const answer = api.recording("r1").catch((error: unknown) => error);
    await vi.advanceTimersByTimeAsync(RETRY_503.attempts * RETRY_503.maxWaitMs);
    const error = await answer;
    expect(error).toBeInstanceOf(ApiError);
    expect((error as ApiError).status).toBe(503);
    expect((error as ApiError).code).toBe("upstream_unavailable");
    expect(calls).toHaveLength(RETRY_503.attempts);
  });

  it("is never repeated for a write that could happen twice", async () => {
    const { api, calls } = scripted(() => restarting("1"));
    const answer = api
      .createClient({ display_name: "Ana" })
      .catch((error: unknown) => error);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(await answer).toBeInstanceOf(ApiError);
    expect(calls).toEqual(["POST /clients"]);
  });

  it("is retried for an upload, which the API answers with the same recording", async () => {
    const { api, calls } = scripted(
      () => restarting("0"),
      () => json({ recording_id: "r1", status: "pending" }, 200),
    );
    const answer = api.upload(UPLOAD);
    await vi.advanceTimersByTimeAsync(0);
    await expect(answer).resolves.toEqual({ recording_id: "r1", status: "pending" });
    expect(calls).toEqual(["POST /audio_recordings", "POST /audio_recordings"]);
  });

  it("is shown at once without Retry-After: nothing says the server is coming back", async () => {
    const { api, calls } = scripted(() => restarting());
    await expect(api.recording("r1")).rejects.toMatchObject({ status: 503 });
    expect(calls).toHaveLength(1);
  });

  it("stops waiting when the caller aborts", async () => {
    const { api, calls } = scripted(() => restarting("5"));
    const controller = new AbortController();
    const answer = api.audio("r1", controller.signal).catch((error: unknown) => error);
    await vi.advanceTimersByTimeAsync(100);
    controller.abort(new DOMException("left the page", "AbortError"));
    expect(((await answer) as DOMException).name).toBe("AbortError");
    await vi.advanceTimersByTimeAsync(10_000);
    expect(calls).toHaveLength(1);
  });
});

describe("retryAfterMs", () => {
  it("reads seconds and HTTP dates, and falls back to a second", () => {
    const at = (value: string | null) =>
      new Response(null, { status: 503, headers: value === null ? {} : { "Retry-After": value } });
    const now = Date.parse("2024-05-01T10:00:00Z");
    expect(retryAfterMs(at("2"), now)).toBe(2000);
    expect(retryAfterMs(at("Wed, 01 May 2024 10:00:03 GMT"), now)).toBe(3000);
    expect(retryAfterMs(at(null), now)).toBe(RETRY_503.defaultWaitMs);
    expect(retryAfterMs(at("soon"), now)).toBe(RETRY_503.defaultWaitMs);
  });
});
