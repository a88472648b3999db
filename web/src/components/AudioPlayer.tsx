import { useEffect, useState, type RefObject } from "react";
import { errorMessage } from "../api/client";
import { useApi } from "../auth";
import { formatDate } from "../format";
import { ErrorNote, Loading } from "./Status";

type Source = { state: "loading" } | { state: "error"; message: string } | { state: "ready"; url: string };

/**
 * The recording's audio. The access token lives in memory and an <audio src> cannot send it,
 * so the file is fetched as a Blob and played from an object URL, revoked when the page goes.
 * `onTime` hears the playing position; the parent seeks through `audioRef`.
 */
export function AudioPlayer({
  recordingId,
  deletedAt,
  audioRef,
  onTime,
}: {
  recordingId: string;
  deletedAt: string | null;
  audioRef: RefObject<HTMLAudioElement>;
  onTime: (seconds: number) => void;
}) {
  const api = useApi();
  const [source, setSource] = useState<Source>({ state: "loading" });
  const [round, setRound] = useState(0);

  useEffect(() => {
    if (deletedAt) return;
    const abort = new AbortController();
    let url: string | null = null;
    setSource({ state: "loading" });
    api.audio(recordingId, abort.signal).then(
      (blob) => {
        if (abort.signal.aborted) return;
        url = URL.createObjectURL(blob);
        setSource({ state: "ready", url });
      },
      (error: unknown) => {
        if (!abort.signal.aborted) setSource({ state: "error", message: errorMessage(error) });
      },
    );
    return () => {
      abort.abort();
      if (url) URL.revokeObjectURL(url);
    };
  }, [api, recordingId, deletedAt, round]);

  if (deletedAt) {
    return (
      <p className="note player-note">
        The audio was deleted on {formatDate(deletedAt)} under the clinic&apos;s retention period;
        the transcript, events and reports remain.
      </p>
    );
  }
  if (source.state === "loading") return <Loading what="the audio" />;
  if (source.state === "error") {
    return <ErrorNote message={source.message} onRetry={() => setRound((r) => r + 1)} />;
  }
  const report = () => onTime(audioRef.current?.currentTime ?? 0);
  return (
    <audio
      ref={audioRef}
      className="player"
      controls
      preload="auto"
      src={source.url}
      aria-label="Recording audio"
      onTimeUpdate={report}
      onSeeked={report}
    />
  );
}
