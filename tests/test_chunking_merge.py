"""Chunk plans on synthetic signals with known pauses; merges of crafted chunk transcripts."""

from __future__ import annotations

import asyncio
from itertools import pairwise

import numpy as np
import pytest

from deployments.transcriber import SAMPLE_RATE
from pipelines.chunking import Chunk, chunk_audio, chunk_plan
from pipelines.merge import MIXED, merge_chunks
from pipelines.transcription import transcribe_chunked
from pipelines.types import ChunkTranscript, Segment, TranscriptionOptions, Word

RNG_SEED = 7
SHORT_CHUNKS = {"target_s": 55.0, "max_s": 60.0}
"""Two-window chunks, so a minute or two of audio has several seams."""


def speech_like(pattern: list[tuple[str, float]], seed: int = RNG_SEED) -> np.ndarray:
    """Concatenate ("speech", s) noise bursts, ("quiet", s) soft noise, ("pause", s) silence."""
    rng = np.random.default_rng(seed)
    level = {"speech": 0.3, "quiet": 0.01, "pause": 0.0003}
    parts = [
        (rng.standard_normal(round(s * SAMPLE_RATE)) * level[kind]).astype(np.float32)
        for kind, s in pattern
    ]
    return np.concatenate(parts)


def sentences_with_pauses(
    total_s: float, seed: int = RNG_SEED
) -> tuple[np.ndarray, list[tuple[float, float]]]:
    """Speech of 2-9 s between pauses of 0.3-1.5 s; returns the audio and the pause spans."""
    rng = np.random.default_rng(seed)
    pattern: list[tuple[str, float]] = []
    pauses, t = [], 0.0
    while t < total_s:
        speech, pause = float(rng.uniform(2, 9)), float(rng.uniform(0.3, 1.5))
        pattern += [("speech", speech), ("pause", pause)]
        pauses.append((t + speech, t + speech + pause))
        t += speech + pause
    return speech_like(pattern, seed), pauses


def seams(chunks: list[Chunk]) -> list[float]:
    return [(a.end_s + b.start_s) / 2 for a, b in pairwise(chunks)]


class TestChunkPlan:
    def test_short_audio_is_one_chunk(self) -> None:
        for seconds in (0.5, 30.0, 120.0):
            audio = speech_like([("speech", seconds)])
            assert chunk_plan(audio) == [Chunk(index=0, start_s=0.0, end_s=seconds)]

    def test_ten_minutes_gives_enough_chunks_to_parallelise(self) -> None:
        audio, _ = sentences_with_pauses(600)
        chunks = chunk_plan(audio)
        assert 5 <= len(chunks) <= 6
        assert [c.index for c in chunks] == list(range(len(chunks)))

    def test_cuts_land_in_pauses(self) -> None:
        audio, pauses = sentences_with_pauses(600)
        for seam in seams(chunk_plan(audio)):
            assert any(start <= seam <= end for start, end in pauses), seam

    def test_overlap_stays_inside_a_long_enough_pause(self) -> None:
        # One 2 s pause in the search window: the whole 1 s overlap sits in it.
        audio = speech_like([("speech", 47.0), ("pause", 2.0), ("speech", 40.0)])
        first, second = chunk_plan(audio, **SHORT_CHUNKS)[:2]
        assert 47.0 <= second.start_s < first.end_s <= 49.0
        assert first.end_s - second.start_s == pytest.approx(1.0)

    def test_prefers_real_silence_to_quiet_speech(self) -> None:
        audio = speech_like(
            [("speech", 46.0), ("quiet", 1.5), ("speech", 3.0), ("pause", 0.4), ("speech", 20.0)]
        )
        (seam,) = seams(chunk_plan(audio, **SHORT_CHUNKS))
        assert 50.5 <= seam <= 50.9

    def test_lengths_and_overlap_follow_the_settings(self) -> None:
        audio, _ = sentences_with_pauses(400)
        for target_s, search_s, overlap_s in ((55.0, 10.0, 1.0), (85.0, 15.0, 2.0)):
            chunks = chunk_plan(
                audio, target_s=target_s, max_s=target_s + 5, search_s=search_s, overlap_s=overlap_s
            )
            for chunk in chunks[:-1]:
                assert target_s - search_s <= chunk.duration_s <= target_s + 1e-9
            assert chunks[-1].duration_s <= target_s + 5
            for a, b in pairwise(chunks):
                assert a.end_s - b.start_s == pytest.approx(overlap_s)

    def test_continuous_sound_is_still_cut_within_bounds(self) -> None:
        audio = speech_like([("speech", 200.0)])
        chunks = chunk_plan(audio)
        assert all(105.0 <= c.duration_s <= 115.0 for c in chunks[:-1])
        assert chunks[-1].end_s == pytest.approx(200.0)

    def test_slices_cover_the_audio_with_overlaps(self) -> None:
        audio, _ = sentences_with_pauses(300)
        chunks = chunk_plan(audio)
        slices = [chunk_audio(audio, c) for c in chunks]
        assert chunks[0].start_s == 0.0 and chunks[-1].end_s == len(audio) / SAMPLE_RATE
        overlap = round(1.0 * SAMPLE_RATE)
        assert sum(len(s) for s in slices) - overlap * (len(chunks) - 1) == len(audio)
        np.testing.assert_array_equal(slices[1][:overlap], slices[0][-overlap:])

    def test_rejects_settings_that_cannot_advance(self) -> None:
        audio = speech_like([("speech", 100.0)])
        with pytest.raises(ValueError):
            chunk_plan(audio, target_s=10.0, search_s=9.5, overlap_s=1.0)
        with pytest.raises(ValueError):
            chunk_plan(audio, target_s=70.0, max_s=60.0)


def spoken(words: list[str], *, start: float = 0.3, step: float = 0.4) -> list[Word]:
    """Words of 0.3 s every ``step`` s: the truth a perfect backend would report."""
    return [Word(w, start + i * step, start + i * step + 0.3) for i, w in enumerate(words)]


def heard_by(
    chunk: Chunk,
    truth: list[Word],
    *,
    jitter: float = 0.0,
    backend: str = "local",
    model: str = "tiny.en",
    per_segment: int = 5,
) -> ChunkTranscript:
    """What a backend returns for ``chunk``: every word touching it (cut words too), times
    relative to the chunk, shifted by ``jitter``, in segments of ``per_segment`` words."""
    words = [
        Word(w.word, w.start - chunk.start_s + jitter, w.end - chunk.start_s + jitter)
        for w in truth
        if w.end > chunk.start_s and w.start < chunk.end_s
    ]
    groups = [words[i : i + per_segment] for i in range(0, len(words), per_segment)]
    segments = tuple(
        Segment(g[0].start, g[-1].end, " " + " ".join(w.word for w in g), tuple(g)) for g in groups
    )
    return ChunkTranscript(segments=segments, language="en", backend=backend, model=model)


def transcript(chunk: Chunk, words: list[Word]) -> ChunkTranscript:
    """One segment holding ``words`` (recording times), as a backend returns it for ``chunk``."""
    relative = tuple(Word(w.word, w.start - chunk.start_s, w.end - chunk.start_s) for w in words)
    segment = Segment(
        relative[0].start, relative[-1].end, " ".join(w.word for w in words), relative
    )
    return ChunkTranscript(segments=(segment,), language="en", backend="local", model="tiny.en")


WORDS = [f"w{i}" for i in range(60)]


class TestMerge:
    def test_offsets_words_and_segments_by_chunk_start(self) -> None:
        truth = spoken(WORDS)
        chunks = [Chunk(0, 0.0, 10.5), Chunk(1, 9.5, 20.5), Chunk(2, 19.5, 24.5)]
        merged = merge_chunks(chunks, [heard_by(c, truth) for c in chunks])
        assert [w.word for w in merged.words()] == WORDS
        for got, want in zip(merged.words(), truth, strict=True):
            assert (got.start, got.end) == (pytest.approx(want.start), pytest.approx(want.end))
        assert merged.text == " ".join(WORDS)
        assert all(
            s.start == s.words[0].start and s.end == s.words[-1].end for s in merged.segments
        )

    @pytest.mark.parametrize("jitter", [-0.12, -0.06, 0.0, 0.06, 0.12])
    @pytest.mark.parametrize("seam", [10.0, 10.05, 10.1, 10.15, 10.2, 10.25])
    def test_no_word_lost_or_duplicated_at_a_seam(self, jitter: float, seam: float) -> None:
        # Word w24 spans 9.9-10.2: seams before, inside and after it, and the later chunk
        # timing every word ``jitter`` s off the earlier one.
        truth = spoken(WORDS)
        first, second = Chunk(0, 0.0, seam + 0.5), Chunk(1, seam - 0.5, 24.5)
        results = [heard_by(first, truth), heard_by(second, truth, jitter=jitter)]
        assert [w.word for w in merge_chunks([first, second], results).words()] == WORDS

    @pytest.mark.parametrize("jitter", [-0.03, 0.03])
    def test_a_repetition_across_the_seam_stays_two_words(self, jitter: float) -> None:
        words = ["so", "my", "my", "weekend", "was", "fine"]
        truth = spoken(words, start=9.0, step=0.32)  # "my" 9.32-9.62 and 9.64-9.94, then 9.96
        chunks = [Chunk(0, 0.0, 10.13), Chunk(1, 9.13, 20.0)]
        results = [heard_by(chunks[0], truth), heard_by(chunks[1], truth, jitter=jitter)]
        assert [w.word for w in merge_chunks(chunks, results).words()] == words

    def test_a_word_only_the_later_chunk_heard_is_kept(self) -> None:
        # Whisper stretches a chunk's first word back to the chunk start, across the seam;
        # the earlier chunk, cut mid-word, did not transcribe it at all.
        chunks = [Chunk(0, 0.0, 47.19), Chunk(1, 46.19, 96.0)]
        earlier = [Word("the", 45.33, 45.49), Word("paintings.", 45.71, 46.15)]
        later = [Word("We", 46.19, 47.17), Word("walked", 47.17, 47.55)]
        results = [transcript(chunks[0], earlier), transcript(chunks[1], later)]
        merged = merge_chunks(chunks, results)
        assert [w.word for w in merged.words()] == ["the", "paintings.", "We", "walked"]

    def test_a_word_only_the_earlier_chunk_heard_is_kept(self) -> None:
        chunks = [Chunk(0, 0.0, 20.5), Chunk(1, 19.5, 40.0)]
        earlier = [Word("so", 19.2, 19.5), Word("well", 19.7, 20.5)]  # stretched to the end
        later = [Word("anyway", 20.6, 21.0)]
        results = [transcript(chunks[0], earlier), transcript(chunks[1], later)]
        merged = merge_chunks(chunks, results)
        assert [w.word for w in merged.words()] == ["so", "well", "anyway"]

    def test_drops_empty_segments_and_normalises_whitespace(self) -> None:
        result = ChunkTranscript(
            segments=(
                Segment(0.0, 1.0, "  "),
                Segment(
                    1.0,
                    2.0,
                    " hello \n there ",
                    (Word(" hello", 1.0, 1.4), Word("there ", 1.5, 2.0)),
                ),
                Segment(2.0, 3.0, "", (Word(" ", 2.0, 2.5),)),
                Segment(3.0, 4.0, "  no   word   times "),
            ),
            language="en",
            backend="local",
            model="tiny.en",
        )
        merged = merge_chunks([Chunk(0, 0.0, 4.0)], [result])
        assert [s.text for s in merged.segments] == ["hello there", "no word times"]
        assert merged.text == "hello there no word times"
        assert [w.word for w in merged.words()] == ["hello", "there"]

    def test_segments_without_word_times_are_kept_once(self) -> None:
        chunks = [Chunk(0, 0.0, 10.5), Chunk(1, 9.5, 20.0)]

        def wordless(chunk: Chunk, spans: list[tuple[float, float, str]]) -> ChunkTranscript:
            segments = tuple(Segment(s - chunk.start_s, e - chunk.start_s, t) for s, e, t in spans)
            return ChunkTranscript(segments, "en", "groq", "whisper-large-v3-turbo")

        spans = [(0.0, 5.0, "one"), (5.0, 9.0, "two"), (9.2, 10.6, "three"), (10.6, 15.0, "four")]
        results = [wordless(chunks[0], spans[:3]), wordless(chunks[1], spans[2:])]
        merged = merge_chunks(chunks, results)
        assert merged.text == "one two three four"
        assert merged.segments[3].start == pytest.approx(10.6)

    def test_backend_and_model_are_mixed_when_chunks_disagree(self) -> None:
        truth = spoken(WORDS)
        chunks = [Chunk(0, 0.0, 10.5), Chunk(1, 9.5, 24.5)]
        same = merge_chunks(chunks, [heard_by(c, truth) for c in chunks])
        assert (same.backend, same.model) == ("local", "tiny.en")
        mixed = merge_chunks(
            chunks,
            [
                heard_by(chunks[0], truth),
                heard_by(chunks[1], truth, backend="groq", model="whisper-large-v3-turbo"),
            ],
        )
        assert (mixed.backend, mixed.model) == (MIXED, MIXED)
        assert list(mixed.chunks) == [
            {"index": 0, "start": 0.0, "end": 10.5, "backend": "local", "model": "tiny.en"},
            {
                "index": 1,
                "start": 9.5,
                "end": 24.5,
                "backend": "groq",
                "model": "whisper-large-v3-turbo",
            },
        ]
        assert [w.word for w in mixed.words()] == WORDS

    def test_needs_one_result_per_chunk(self) -> None:
        with pytest.raises(ValueError):
            merge_chunks([Chunk(0, 0.0, 1.0)], [])


async def test_transcribe_chunked_fans_out_reports_progress_and_merges() -> None:
    """Every chunk goes to the transcriber at once; progress counts up; times become global."""
    audio, _ = sentences_with_pauses(150.0)
    plan = chunk_plan(audio, **SHORT_CHUNKS)
    in_flight, most_in_flight = 0, 0
    seen: list[tuple[int, int]] = []

    async def transcribe(samples: np.ndarray, options: TranscriptionOptions) -> ChunkTranscript:
        nonlocal in_flight, most_in_flight
        in_flight += 1
        most_in_flight = max(most_in_flight, in_flight)
        await asyncio.sleep(0.01)
        in_flight -= 1
        # One word in the middle of the chunk, named after the chunk's length.
        middle = len(samples) / SAMPLE_RATE / 2
        word = Word(f"w{len(samples)}", middle, middle + 0.2)
        segment = Segment(middle, middle + 0.2, word.word, (word,))
        return ChunkTranscript((segment,), "en", "fake", "fake-model")

    async def progress(done: int, total: int) -> None:
        seen.append((done, total))

    transcript = await transcribe_chunked(
        audio,
        TranscriptionOptions(),
        transcribe,
        **SHORT_CHUNKS,
        overlap_s=1.0,
        progress=progress,
    )
    assert len(plan) >= 3 and most_in_flight == len(plan)
    assert seen == [(done, len(plan)) for done in range(len(plan) + 1)]
    words = [w for s in transcript.segments for w in s.words]
    assert [w.word for w in words] == [f"w{len(chunk_audio(audio, c))}" for c in plan]
    for word, chunk in zip(words, plan, strict=True):
        assert chunk.start_s <= word.start <= word.end <= chunk.end_s
    assert transcript.backend == "fake"
