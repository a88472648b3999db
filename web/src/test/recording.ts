import type { Annotation, Client, Recording } from "../api/types";

export const CLIENT: Client = {
  id: "c1",
  display_name: "Ana Souza",
  external_ref: "R-17",
  date_of_birth: null,
  notes: null,
  created_by: "u1",
  created_at: "2026-01-10T10:00:00Z",
  updated_at: "2026-01-10T10:00:00Z",
};

export const RECORDING: Recording = {
  id: "r1",
  status: "processed",
  filename: "session.webm",
  duration_s: 4,
  created_at: "2026-02-01T10:00:00Z",
  updated_at: "2026-02-01T10:00:10Z",
  progress: { chunks_done: 1, chunks_total: 1 },
  error: null,
  client_id: "c1",
  recorded_at: "2026-02-01T09:00:00Z",
  task: "reading",
  channel: "mix",
  audio_deleted_at: null,
  transcript: null,
  report: null,
  metrics: null,
};

export const ANNOTATION: Annotation = {
  recording_id: "r1",
  version: 1,
  segments: [
    {
      start: 0,
      end: 3,
      text: "um I I want",
      words: [
        { word: " um", start: 0.0, end: 0.4 },
        { word: " I", start: 0.5, end: 0.7 },
        { word: " I", start: 0.8, end: 1.0 },
        { word: " want", start: 1.1, end: 1.5 },
      ],
    },
  ],
  events: [
    { type: "interjection", text: "um", start: 0.0, end: 0.4, to_review: false },
    { type: "repetition", subtype: "whole_word", text: "I I", start: 0.5, end: 1.0, to_review: true },
  ],
  metrics: { percent_syllables_stuttered: 25, syllables_per_minute: 160, word_count: 4 },
  reviewed_by: null,
  reviewed_at: null,
  created_at: "2026-02-01T10:00:10Z",
};
