// The API's bodies as the console reads them (serve_app/schemas.py is the source of truth).

export type Role = "admin" | "member";

export interface User {
  id: string;
  email: string;
  role: Role;
  tenant_id: string;
  created_at?: string;
}

export interface Me extends User {
  tenant_name: string;
}

export interface Session {
  access_token: string;
  token_type: "bearer";
  expires_in: number;
  user: User;
}

export interface Page<T> {
  items: T[];
  next_cursor: string | null;
}

export interface Client {
  id: string;
  display_name: string;
  external_ref: string | null;
  date_of_birth: string | null;
  notes: string | null;
  created_by: string | null;
  created_at: string;
  updated_at: string;
}

export interface NewClient {
  display_name: string;
  external_ref?: string | null;
  date_of_birth?: string | null;
  notes?: string | null;
}

export type ClientChanges = Partial<NewClient>;

export interface Assignment {
  user_id: string;
  email: string;
  role: Role;
  assigned_at: string;
}

export interface Tenant {
  id: string;
  name: string;
  audio_retention_days: number | null;
  created_at: string;
}

export type RecordingStatus = "pending" | "processing" | "processed" | "failed";

export interface Progress {
  chunks_done: number;
  chunks_total: number;
}

export interface Word {
  word: string;
  start: number;
  end: number;
  probability?: number;
}

export interface Segment {
  start: number;
  end: number;
  text: string;
  words: Word[];
}

export const DISFLUENCY_TYPES = [
  "interjection",
  "repetition",
  "revision",
  "prolongation",
  "block",
] as const;
export type DisfluencyType = (typeof DISFLUENCY_TYPES)[number];

export const REPETITION_KINDS = ["part_word", "whole_word", "phrase"] as const;
export type RepetitionKind = (typeof REPETITION_KINDS)[number];

export interface DisfluencyEvent {
  type: DisfluencyType;
  subtype?: RepetitionKind | null;
  text: string;
  start: number;
  end: number;
  to_review?: boolean;
  confidence?: number | null;
  evidence?: string[];
  stuttering_like?: boolean | null;
}

export type Metrics = Record<string, unknown> & {
  percent_syllables_stuttered?: number | null;
  syllables_per_minute?: number | null;
  words_per_minute?: number;
  disfluencies_per_minute?: number;
  word_count?: number;
  duration_s?: number;
  /** Voiced audio without words: [start, end] in seconds, and whether it deserves a notice. */
  untranscribed?: [number, number][];
  untranscribed_s?: number;
  untranscribed_notice?: boolean;
  /** Stretches whose words the model was guessing at: [start, end] in seconds, and their total. */
  unclear?: [number, number][];
  unclear_s?: number;
};

export interface Recording {
  id: string;
  status: RecordingStatus;
  filename: string | null;
  duration_s: number | null;
  created_at: string;
  updated_at: string;
  progress: Progress;
  error: string | null;
  client_id: string | null;
  recorded_at: string;
  task: SessionTask | null;
  channel: Channel;
  audio_deleted_at: string | null;
  transcript: {
    text: string;
    language: string;
    segments: Segment[];
    /** What the analysis found about the audio; `channels_apart`: two voices mixed. */
    coverage?: { channels_apart?: boolean };
  } | null;
  report: Record<string, unknown> | null;
  metrics: Metrics | null;
}

/** Which channel of a two-channel recording is measured: both mixed, or one speaker's. */
export const CHANNELS = ["mix", "left", "right"] as const;
export type Channel = (typeof CHANNELS)[number];

export const SESSION_TASKS = [
  "conversation",
  "monologue",
  "reading",
  "picture_description",
  "other",
] as const;
export type SessionTask = (typeof SESSION_TASKS)[number];

export interface Annotation {
  recording_id: string;
  version: number;
  segments: Segment[];
  events: DisfluencyEvent[];
  metrics: Metrics;
  reviewed_by: string | null;
  reviewed_at: string | null;
  created_at: string;
}

export const REPORT_TYPES = ["fluency_analysis", "speech_patterns", "comprehensive"] as const;
export type ReportType = (typeof REPORT_TYPES)[number];
export const REPORT_LANGUAGES = ["en", "pt", "es", "fr", "de"] as const;
export type ReportLanguage = (typeof REPORT_LANGUAGES)[number];

export interface ReportSummary {
  id: string;
  recording_id: string;
  type: ReportType;
  language: ReportLanguage;
  status: "pending" | "ready" | "failed";
  automatic: boolean;
  annotation_version: number | null;
  generator: string | null;
  requested_by: string | null;
  error: string | null;
  created_at: string;
}

export interface Report extends ReportSummary {
  metrics: Metrics | null;
  content_markdown: string | null;
}

export interface ProgressPoint {
  recording_id: string;
  recorded_at: string;
  value: number | null;
  reviewed: boolean;
  task: SessionTask | null;
}

export interface ProgressSeries {
  metric: string;
  unit: string;
  points: ProgressPoint[];
}

export interface AuditEvent {
  id: number;
  at: string;
  action: string;
  actor_id: string | null;
  target_type: string | null;
  target_id: string | null;
  request_id: string | null;
  client_ip: string | null;
  details: Record<string, unknown>;
}

export interface StatusEvent {
  status: RecordingStatus;
  progress: Progress;
  error?: string | null;
}
