import { useEffect, useRef, useState } from "react";
import { ErrorNote } from "./Status";

const MIME = "audio/webm;codecs=opus";

/**
 * Record from the microphone (webm/opus) with a level meter and a timer. `onRecorded` gets the
 * audio when the clinician stops; recording again replaces it.
 */
export function Recorder({ onRecorded }: { onRecorded: (audio: Blob | null) => void }) {
  const [state, setState] = useState<"idle" | "recording" | "done">("idle");
  const [elapsed, setElapsed] = useState(0);
  const [level, setLevel] = useState(0);
  const [error, setError] = useState<string | null>(null);
  const stopRef = useRef<(() => void) | null>(null);

  useEffect(() => () => stopRef.current?.(), []);

  async function start() {
    setError(null);
    onRecorded(null);
    if (!navigator.mediaDevices?.getUserMedia || typeof MediaRecorder === "undefined") {
      setError("This browser cannot record audio; upload a file instead.");
      return;
    }
    let stream: MediaStream;
    try {
      stream = await navigator.mediaDevices.getUserMedia({ audio: true });
    } catch {
      setError("The microphone is not available. Allow access to it, or upload a file.");
      return;
    }
    const options = MediaRecorder.isTypeSupported(MIME) ? { mimeType: MIME } : undefined;
    const recorder = new MediaRecorder(stream, options);
    const pieces: Blob[] = [];
    recorder.ondataavailable = (e) => e.data.size && pieces.push(e.data);
    recorder.onstop = () => {
      onRecorded(new Blob(pieces, { type: recorder.mimeType || "audio/webm" }));
      setState("done");
    };

    const context = new AudioContext();
    const analyser = context.createAnalyser();
    analyser.fftSize = 1024;
    context.createMediaStreamSource(stream).connect(analyser);
    const samples = new Float32Array(analyser.fftSize);
    const began = performance.now();
    let frame = 0;
    const tick = () => {
      analyser.getFloatTimeDomainData(samples);
      let sum = 0;
      for (const s of samples) sum += s * s;
      setLevel(Math.min(1, Math.sqrt(sum / samples.length) * 4));
      setElapsed((performance.now() - began) / 1000);
      frame = requestAnimationFrame(tick);
    };
    frame = requestAnimationFrame(tick);

    stopRef.current = () => {
      cancelAnimationFrame(frame);
      if (recorder.state !== "inactive") recorder.stop();
      stream.getTracks().forEach((t) => t.stop());
      void context.close();
      setLevel(0);
      stopRef.current = null;
    };
    recorder.start(1000);
    setElapsed(0);
    setState("recording");
  }

  const minutes = Math.floor(elapsed / 60);
  const secs = Math.floor(elapsed % 60);
  return (
    <div className="recorder">
      <div className="recorder-row">
        {state === "recording" ? (
          <button type="button" className="danger" onClick={() => stopRef.current?.()}>
            Stop recording
          </button>
        ) : (
          <button type="button" className="primary" onClick={start}>
            {state === "done" ? "Record again" : "Start recording"}
          </button>
        )}
        <span className="timer" role="timer" aria-label="Recording time">
          {minutes}:{String(secs).padStart(2, "0")}
        </span>
        <label className="meter">
          <span className="sr-only">Input level</span>
          <meter min={0} max={1} low={0.6} high={0.9} optimum={0.4} value={level} />
        </label>
      </div>
      {state === "recording" && (
        <p className="muted" aria-live="polite">
          Recording…
        </p>
      )}
      {state === "done" && (
        <p className="muted" aria-live="polite">
          Recorded {minutes}:{String(secs).padStart(2, "0")}. Upload it below, or record again.
        </p>
      )}
      {error && <ErrorNote message={error} />}
    </div>
  );
}
