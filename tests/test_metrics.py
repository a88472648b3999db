"""Fluency metrics on crafted word timings, with rates and %SS computed by hand."""

from __future__ import annotations

import json
import math
from dataclasses import replace

import pytest

from pipelines.coverage import Sound
from pipelines.metrics import FluencyMetrics, MetricsSettings, compute_metrics
from pipelines.types import Word


def spoken(
    text: str, *, start: float = 0.0, word_s: float = 0.3, gap_s: float = 0.05
) -> list[Word]:
    """Words of ``text`` said one after another: each ``word_s`` long, ``gap_s`` apart."""
    words = []
    t = start
    for token in text.split():
        words.append(Word(word=f" {token}", start=t, end=t + word_s))
        t += word_s + gap_s
    return words


def timed(*items: tuple[str, float, float]) -> list[Word]:
    return [Word(word=f" {w}", start=s, end=e) for w, s, e in items]


def events(metrics: FluencyMetrics) -> list[tuple[str, str | None, str, bool]]:
    return [(e.type, e.subtype, e.text, e.stuttering_like) for e in metrics.disfluencies]


def assert_nothing_measured(metrics: FluencyMetrics) -> None:
    """Counts of nothing are 0; a rate over syllables or speech time that were never produced
    is no number (null), not a 0 that reads as fluent speech; nothing is NaN or infinite."""
    data = metrics.to_dict()
    json.dumps(data, allow_nan=False)
    for key in ("words_per_minute", "mean_pause_s", "disfluencies_per_minute"):
        assert data[key] == 0.0, key
    for key in (
        "syllables_per_minute",
        "articulation_rate",
        "sld_per_100_syllables",
        "percent_syllables_stuttered",
    ):
        assert data[key] is None, key


class TestEdgeCases:
    def test_empty_transcript_measures_nothing(self) -> None:
        metrics = compute_metrics([], 0.0)
        assert metrics.word_count == 0
        assert metrics.syllable_count == 0
        assert metrics.disfluencies == ()
        assert metrics.counts_by_type == {
            "interjection": 0,
            "repetition": 0,
            "revision": 0,
            "prolongation": 0,
            "block": 0,
        }
        assert_nothing_measured(metrics)

    def test_all_silence_keeps_the_duration_and_nothing_else(self) -> None:
        metrics = compute_metrics([], 30.0)
        assert metrics.duration_s == 30.0
        assert metrics.speaking_span_s == 0.0
        assert metrics.pause_count == 0
        assert_nothing_measured(metrics)

    def test_one_word(self) -> None:
        metrics = compute_metrics(timed(("Hello.", 1.0, 1.5)), 3.0)
        assert metrics.word_count == 1
        assert metrics.syllable_count == 2
        assert metrics.speaking_span_s == pytest.approx(0.5)
        assert metrics.words_per_minute == pytest.approx(120.0)
        assert metrics.syllables_per_minute == pytest.approx(240.0)
        assert metrics.articulation_rate == pytest.approx(4.0)
        assert metrics.pause_count == 0
        assert metrics.disfluencies == ()

    def test_one_word_without_duration_has_no_rate_over_time(self) -> None:
        metrics = compute_metrics(timed(("so", 2.0, 2.0)), 4.0)
        assert metrics.word_count == 1
        data = metrics.to_dict()
        json.dumps(data, allow_nan=False)
        assert data["syllables_per_minute"] is None and data["articulation_rate"] is None
        assert data["words_per_minute"] == 0.0
        # One syllable was said, and not stuttered: that is a measurement.
        assert data["percent_syllables_stuttered"] == 0.0

    def test_words_out_of_order_are_read_in_time_order(self) -> None:
        in_order = spoken("my my name is Sam")
        assert events(compute_metrics(in_order[::-1], 5.0)) == events(
            compute_metrics(in_order, 5.0)
        )


class TestRatesAndPauses:
    def test_hand_computed_rates_pauses_and_long_pauses(self) -> None:
        # Gaps: 0.1 s (not a pause), 0.5 s and 2.5 s (pauses; the second is long).
        words = timed(
            ("I", 1.0, 1.2),
            ("like", 1.3, 1.6),
            ("dogs.", 2.1, 2.6),
            ("They", 5.1, 5.4),
            ("are", 5.4, 5.6),
        )
        metrics = compute_metrics(words, 6.0)
        span = 5.6 - 1.0
        assert metrics.speaking_span_s == pytest.approx(span)
        assert metrics.pause_count == 2
        assert metrics.mean_pause_s == pytest.approx((0.5 + 2.5) / 2)
        assert metrics.long_pause_count == 1
        assert metrics.long_pauses[0].start == pytest.approx(2.6)
        assert metrics.long_pauses[0].duration_s == pytest.approx(2.5)
        assert metrics.speech_time_s == pytest.approx(span - 3.0)
        assert metrics.syllable_count == 5
        assert metrics.words_per_minute == pytest.approx(5 / span * 60)
        assert metrics.syllables_per_minute == pytest.approx(5 / span * 60)
        assert metrics.articulation_rate == pytest.approx(5 / (span - 3.0))
        assert metrics.disfluencies == ()  # the long gap follows a full stop: not a block

    def test_pause_thresholds_are_settings(self) -> None:
        words = timed(("I", 0.0, 0.2), ("like", 0.5, 0.8), ("dogs.", 2.0, 2.4))
        default = compute_metrics(words, 3.0)
        strict = compute_metrics(words, 3.0, MetricsSettings(pause_min_s=0.5, long_pause_s=1.0))
        assert (default.pause_count, default.long_pause_count) == (2, 0)
        assert (strict.pause_count, strict.long_pause_count) == (1, 1)


class TestInterjections:
    def test_fillers_in_any_spelling_are_interjections(self) -> None:
        metrics = compute_metrics(spoken("Um, I like, uh, UHM cats, hmm... erm mm ah."), 10.0)
        assert [e.text for e in metrics.disfluencies] == [
            "Um,",
            "uh,",
            "UHM",
            "hmm...",
            "erm",
            "mm",
            "ah.",
        ]
        assert {e.type for e in metrics.disfluencies} == {"interjection"}
        assert metrics.stuttering_like_disfluencies == 0
        assert metrics.counts_by_type["interjection"] == 7

    def test_the_same_filler_written_over_and_over_is_one_pause(self) -> None:
        # A decoder loop over "mmmmy glasses under the sofa cushion": twelve "ahh..." in 2.2 s.
        loop = [("ahh...", 2.2 + 0.18 * k, 2.35 + 0.18 * k) for k in range(12)]
        words = timed(("I", 0.5, 0.7), ("finally", 0.7, 1.2), ("found...", 1.2, 1.9), *loop)
        metrics = compute_metrics(words, 5.0)
        assert events(metrics) == [("interjection", None, " ".join(["ahh..."] * 12), False)]
        # Said again after a pause, it is another hesitation.
        apart = timed(("um", 0.0, 0.3), ("um,", 1.0, 1.3), ("yes.", 1.5, 1.8))
        assert [e.text for e in compute_metrics(apart, 2.0).disfluencies] == ["um", "um,"]

    def test_backchannels_are_not_fillers(self) -> None:
        metrics = compute_metrics(spoken("uh-huh mm-hmm mhm okay"), 5.0)
        assert metrics.disfluencies == ()

    @pytest.mark.parametrize(("first", "second"), [("Mm", "-hmm."), ("Uh", "-huh,"), ("m", "-hm")])
    def test_a_backchannel_written_as_two_words_is_one_word_and_no_filler(
        self, first: str, second: str
    ) -> None:
        """Whisper wrote a real podcast clip (SEP-28k) "Mm -hmm. When you were younger...":
        one "yes", not two filled pauses."""
        words = timed(
            (first, 1.04, 1.37), (second, 1.37, 2.01), ("When", 2.1, 2.3), ("you", 2.3, 2.45)
        )
        metrics = compute_metrics(words, 3.0)
        assert metrics.disfluencies == () and metrics.word_count == 3
        # A filler before a word cut off is still a filler, and "-hmm" after a word is no half.
        kept = compute_metrics(timed(("Um", 0.0, 0.3), ("-pro", 0.4, 0.6), ("so", 0.7, 0.9)), 1.0)
        assert ("interjection", None, "Um", False) in events(kept)
        assert compute_metrics(timed(("So", 0.0, 0.3), ("-hmm", 0.3, 0.6)), 1.0).word_count == 2


class TestRepetitions:
    def test_monosyllabic_whole_word_repetition_is_stuttering_like(self) -> None:
        metrics = compute_metrics(spoken("my my my name"), 5.0)
        assert events(metrics) == [("repetition", "whole_word", "my my my", True)]
        # The repeated syllable counts once: "my name" is 2 syllables, 1 of them stuttered.
        assert metrics.syllable_count == 2
        assert metrics.stuttered_syllables == 1
        assert metrics.percent_syllables_stuttered == pytest.approx(50.0)

    @pytest.mark.parametrize(
        ("text", "syllables"),
        [
            ("no, no, no, I said", 5),
            ("it was very very cold", 7),
            ("okay, okay I see", 6),
            ("my, my. This is a holiday", 8),  # a possessive ending the sentence
        ],
    )
    def test_a_word_said_again_for_emphasis_is_listed_to_review(
        self, text: str, syllables: int
    ) -> None:
        # Repetitions for emphasis are not counted; whisper also writes "No, no" for stuttered
        # syllables it cannot spell ("duh duh dinner"), so a clinician decides.
        metrics = compute_metrics(spoken(text), 5.0)
        assert events(metrics) == []
        assert [(e.type, e.subtype) for e in metrics.to_review] == [("repetition", "whole_word")]
        # Its words count as said until it is confirmed.
        assert metrics.syllable_count == syllables
        assert metrics.stuttered_syllables == 0

    def test_multisyllabic_whole_word_repetition_is_another_disfluency(self) -> None:
        metrics = compute_metrics(spoken("because because I said"), 5.0)
        assert events(metrics) == [("repetition", "whole_word", "because because", False)]
        assert metrics.syllable_count == 6
        assert metrics.percent_syllables_stuttered == 0.0
        assert metrics.other_disfluencies == 1

    @pytest.mark.parametrize(
        ("text", "event_text"),
        [
            ("b- b- but I said", "b- b- but"),
            ("B-b-but I said", "B-b-but"),
            ("st stop it now", "st stop"),
            ("wa- wa-want it now", "wa- wa-want"),
        ],
    )
    def test_part_word_repetitions(self, text: str, event_text: str) -> None:
        metrics = compute_metrics(spoken(text), 5.0)
        assert events(metrics) == [("repetition", "part_word", event_text, True)]
        assert metrics.stuttered_syllables == 1
        # Fragments add nothing: the three intended words are 3 syllables.
        assert metrics.syllable_count == 3

    def test_cut_word_then_the_same_word_is_a_whole_word_repetition(self) -> None:
        metrics = compute_metrics(spoken("I- I want it"), 5.0)
        assert events(metrics) == [("repetition", "whole_word", "I- I", True)]

    def test_phrase_repetition_counts_every_syllable(self) -> None:
        metrics = compute_metrics(spoken("I want I want a cookie"), 5.0)
        assert events(metrics) == [("repetition", "phrase", "I want I want", False)]
        assert metrics.syllable_count == 7
        assert metrics.stuttering_like_disfluencies == 0

    @pytest.mark.parametrize(
        ("text", "counted"),
        [
            ("How much money? How much money? I asked.", False),
            ("So. Are you ready? Are you ready?", False),
            ("How much money, how much money? I asked.", True),
            ("I asked how much money? How much money?", True),
        ],
    )
    def test_a_whole_sentence_said_again_is_listed_to_review(
        self, text: str, counted: bool
    ) -> None:
        """A real podcast clip (SEP-28k) its annotators heard as fluent: "How much money? How
        much money?". Said again inside a sentence, a phrase counts."""
        metrics = compute_metrics(spoken(text), 10.0)
        assert [e.subtype for e in metrics.disfluencies] == (["phrase"] if counted else [])
        assert [e.subtype for e in metrics.to_review] == ([] if counted else ["phrase"])

    def test_a_filler_between_repeated_words_does_not_hide_the_repetition(self) -> None:
        metrics = compute_metrics(spoken("my, um, my name"), 5.0)
        assert events(metrics) == [
            ("repetition", "whole_word", "my, um, my", True),
            ("interjection", None, "um,", False),
        ]

    def test_a_word_repeated_across_sentences_is_not_a_repetition(self) -> None:
        assert compute_metrics(spoken("I said no. No way."), 5.0).disfluencies == ()
        assert events(compute_metrics(spoken("I... I want it"), 5.0)) == [
            ("repetition", "whole_word", "I... I", True)
        ]

    def test_abbreviations_are_not_fragments(self) -> None:
        assert compute_metrics(spoken("ask Dr. Drake and St. Stephen"), 5.0).disfluencies == ()

    def test_compounds_and_reduplications_are_not_repetitions(self) -> None:
        metrics = compute_metrics(spoken("a well-known so-so song to re-record"), 5.0)
        assert metrics.disfluencies == ()


class TestLoopLikeRepetitions:
    def test_a_long_word_written_five_times_or_more_is_to_review(self) -> None:
        # Whisper's loop over speech in another language: each copy sure, ten of them.
        words = spoken("these soft words " + "sufafan " * 10 + "and then")
        metrics = compute_metrics(words, 10.0)
        assert events(metrics) == []
        assert [(e.type, e.subtype) for e in metrics.to_review] == [("repetition", "whole_word")]

    @pytest.mark.parametrize(
        "text",
        [
            "it was because because because it rained",
            "these soft words " + "sufafan " * 4 + "and then",
            "so so so so so so I went home",
        ],
    )
    def test_fewer_copies_or_a_short_word_still_count(self, text: str) -> None:
        metrics = compute_metrics(spoken(text), 10.0)
        assert [e.type for e in metrics.disfluencies] == ["repetition"]
        assert metrics.to_review == ()


class TestRevisions:
    def test_broken_off_phrase_restarted(self) -> None:
        metrics = compute_metrics(spoken("I went- I go to school"), 5.0)
        assert events(metrics) == [("revision", None, "I went-", False)]

    def test_phrase_changed_after_a_comma(self) -> None:
        metrics = compute_metrics(spoken("we were, we are happy"), 5.0)
        assert events(metrics) == [("revision", None, "we were,", False)]

    def test_a_word_given_no_time_keeps_its_place_whatever_the_float_rounding(self) -> None:
        # "We went to the, we drove to the lake": whisper gave "the," no time; after the
        # chunk's offset is added its start is 30.990000000000002, the next word's 30.99.
        words = timed(
            ("We", 29.9, 30.19),
            ("went", 30.19, 30.59),
            ("to", 30.59, 30.99),
            ("the,", 29.0 + 1.99 + 1e-14, 29.0 + 1.99 + 1e-14),
            ("we", 30.99, 31.21),
            ("drove", 31.21, 31.49),
            ("to", 31.49, 31.69),
            ("the", 31.69, 31.83),
            ("lake.", 31.83, 32.11),
        )
        assert words[3].start > words[4].start
        metrics = compute_metrics(words, 33.0)
        assert events(metrics) == [("revision", None, "We went to the,", False)]

    def test_phrase_changed_after_a_filler(self) -> None:
        metrics = compute_metrics(spoken("I went um I go home"), 5.0)
        assert ("revision", None, "I went", False) in events(metrics)

    @pytest.mark.parametrize(
        "text", ["the dog ran, the cat ran.", "the dog ran, the cat ran, and the bird flew"]
    )
    def test_a_restart_changing_an_inner_word_is_to_review_when_it_ends_there(
        self, text: str
    ) -> None:
        # Parallel clauses ("the dog ran, the cat ran") as often as a restart.
        metrics = compute_metrics(spoken(text), 5.0)
        assert metrics.disfluencies == ()
        assert [(e.type, e.text) for e in metrics.to_review] == [("revision", "the dog ran,")]

    @pytest.mark.parametrize(
        ("text", "abandoned"),
        [
            ("I told him, I asked him to call the plumber", "I told him,"),
            ("the blue one, the green one is cheaper", "the blue one,"),
            # "silver" reads like a comparative, but no "the ...er" opened the sentence.
            ("the red car, the silver car is parked outside", "the red car,"),
        ],
    )
    def test_a_restart_changing_an_inner_word_counts_when_the_clause_goes_on(
        self, text: str, abandoned: str
    ) -> None:
        # The second version carries on where the first stopped: the first was given up.
        metrics = compute_metrics(spoken(text), 5.0)
        assert events(metrics) == [("revision", None, abandoned, False)]

    @pytest.mark.parametrize(
        "text",
        [
            "In the middle of the night, the guide drove to the coast",
            "Because nobody knew the way, the dentist drove home",
            "The longer we stayed near the lighthouse, the more we understood",
            # Whisper's comma inside the first half of "the longer ..., the more ...".
            "The longer we stay, that's the maker on the corner, the more we understood",
        ],
    )
    def test_a_comma_closing_an_introduction_is_not_a_restart(self, text: str) -> None:
        metrics = compute_metrics(spoken(text), 5.0)
        assert metrics.disfluencies == ()
        assert [e.type for e in metrics.to_review] == ["revision"]

    def test_a_changed_last_word_after_a_comma_counts(self) -> None:
        metrics = compute_metrics(spoken("I bought a red, a blue jacket"), 5.0)
        assert events(metrics) == [("revision", None, "a red,", False)]

    @pytest.mark.parametrize(
        "text",
        [
            "I bought some apples, some pears and a loaf of bread",
            "we can take the bus, the train, or a taxi home",
            "she plays the violin, the cello and the piano",
        ],
    )
    def test_items_of_a_list_are_to_review(self, text: str) -> None:
        # Two items before "and" or "or" read like a phrase changed after a comma; in fluent
        # speech they are a list far more often.
        metrics = compute_metrics(spoken(text), 5.0)
        assert metrics.disfluencies == ()
        assert [e.type for e in metrics.to_review] == ["revision"]
        # A restart that goes on without a list still counts.
        metrics = compute_metrics(spoken("I bought a red, a blue jacket and a hat"), 5.0)
        assert events(metrics) == [("revision", None, "a red,", False)]

    @pytest.mark.parametrize(
        "text",
        [
            "we went to Paris, to the Louvre and the river",
            "what kind of city we want to lean, to the children who come after us",
            "she works at home, at the kitchen table most days",
        ],
    )
    def test_a_prepositional_phrase_said_again_longer_is_to_review(self, text: str) -> None:
        # "to Paris, to the Louvre": the phrase said again at more length, its article where
        # the first had its noun; as often an elaboration as a change of mind.
        metrics = compute_metrics(spoken(text), 8.0)
        assert metrics.disfluencies == ()
        assert [e.type for e in metrics.to_review] == ["revision"]
        # The noun changed for another counts as before, and so does an article changed.
        for restart, abandoned in (
            ("we walked to the shop, to the market near the bridge", "to the shop,"),
            ("I bought a red, a blue jacket", "a red,"),
        ):
            assert events(compute_metrics(spoken(restart), 8.0)) == [
                ("revision", None, abandoned, False)
            ]

    def test_a_verb_and_its_object_after_a_broken_off_article_is_a_restart(self) -> None:
        metrics = compute_metrics(spoken("put it on the, leave it by the front door"), 5.0)
        assert events(metrics) == [("revision", None, "put it on the,", False)]
        # A noun after the break finishes the phrase.
        metrics = compute_metrics(spoken("put it on the, uh, table by the door"), 5.0)
        assert events(metrics) == [("interjection", None, "uh,", False)]

    def test_a_pause_whisper_wrote_no_comma_for_breaks_a_phrase_off(self) -> None:
        # "put it on the, leave it by the door" written without the comma; the 0.16 s pause
        # after "the" lies under whisper's "the" (pipelines.coverage.hidden_pauses).
        words = spoken("put it on the leave it by the front door")  # 0.3 s a word, 0.1 s apart
        assert events(compute_metrics(words, 5.0)) == []
        paused = compute_metrics(words, 5.0, pauses=[(1.32, 1.48)])
        assert events(paused) == [("revision", None, "put it on the", False)]
        # A pause elsewhere breaks nothing off, and one after a noun ends a phrase said whole.
        assert events(compute_metrics(words, 5.0, pauses=[(0.32, 0.48)])) == []
        whole = spoken("put it on the table leave it by the front door")
        assert events(compute_metrics(whole, 5.0, pauses=[(1.72, 1.88)])) == []
        # After a pause a determiner opens the new verb's object too; with none, "the visit
        # the doctor paid" goes on.
        words = spoken("we could go to the visit the castle on Sunday")
        assert events(compute_metrics(words, 5.0)) == []
        paused = compute_metrics(words, 5.0, pauses=[(1.72, 1.88)])
        assert events(paused) == [("revision", None, "could go to the", False)]
        # Not across a sentence end: "on the | phone? The car" is no verb and its object.
        words = spoken("while I am on the phone? The car is red")
        assert events(compute_metrics(words, 5.0, pauses=[(1.72, 1.88)])) == []

    def test_a_restart_broken_off_on_a_word_no_phrase_ends_on_counts(self) -> None:
        # "she," cannot end a clause: the first one was abandoned, not a parallel clause.
        metrics = compute_metrics(spoken("I think she, I know she wanted to come"), 5.0)
        assert events(metrics) == [("revision", None, "I think she,", False)]
        metrics = compute_metrics(spoken("could you send me the, forward me the email"), 5.0)
        assert events(metrics) == [("revision", None, "send me the,", False)]

    @pytest.mark.parametrize(
        ("text", "abandoned"),
        [
            ("can you pass the, could you hand me the salt", "can you pass the,"),
            ("the keys are on, they are under the table", "the keys are on,"),
            ("so I told my, we told our friends", "so I told my,"),
            ("it was her, um, she was the one", None),
            ("I think she, um, could come", None),
            ("the cat sat on, uh, the mat", None),
            ("I went to the, um, store", None),
            ("we were at the. The party was fun", None),
            ("we should, let's order pizza tonight", "we should,"),
            ("and she could, she had to stay", "she could,"),
            ("we should, I think, leave early", None),
            ("we could, you know, wait", None),
            ("yes we can, and we will", None),
            # A question asked again with another modal.
            ("can you ask me, could you hand me the salt", "can you ask me,"),
            ("will you tell, um, would you tell her", "will you tell,"),
            ("can you hear me, can you see me", None),
            # The same modal again, another verb, a longer question: the first given up.
            ("can you pass that, can you hand me the salt", "can you pass that,"),
            ("can you hear me, can you see me? Good", None),  # no longer than the first
            ("can you help, can you help me with this", None),  # the same verb
            ("can you come? Could you bring a cake", None),
        ],
    )
    def test_a_phrase_abandoned_on_a_word_no_phrase_ends_on(
        self, text: str, abandoned: str | None
    ) -> None:
        revisions = [
            e.text for e in compute_metrics(spoken(text), 5.0).disfluencies if e.type == "revision"
        ]
        assert revisions == ([abandoned] if abandoned else [])

    def test_a_restart_changing_an_inner_word_after_a_dash_counts(self) -> None:
        metrics = compute_metrics(spoken("I think she- I know she wanted to come"), 5.0)
        assert events(metrics) == [("revision", None, "I think she-", False)]

    def test_new_sentence_is_not_a_revision(self) -> None:
        metrics = compute_metrics(spoken("We saw lions. We saw tigers."), 5.0)
        assert metrics.disfluencies == ()


class TestProlongationsAndBlocks:
    def test_word_far_longer_than_its_syllables_is_a_prolongation(self) -> None:
        words = spoken("so the big snake is very slow today")
        snake = words[3]
        words[3] = Word(word=snake.word, start=snake.start, end=snake.start + 1.5)
        metrics = compute_metrics(words, 10.0)
        assert events(metrics) == [("prolongation", None, "snake", True)]

    @pytest.mark.parametrize(
        ("word", "counted"),
        [
            ("tonight", False),
            ("Baker", False),
            ("good", False),
            ("cold", False),
            ("quite", False),
            ("getting", False),
            ("give", False),
            ("snake", True),
            ("think", True),
            ("phone", True),
            ("city", True),
            ("knee", True),
            ("gentle", True),
            ("always", True),
        ],
    )
    def test_a_long_word_spelt_with_a_stop_first_is_listed_to_review(
        self, word: str, counted: bool
    ) -> None:
        """A stop cannot be held: on a real recording (CrisperWhisper's sample) "uh, tonight"
        came back "tonight," lasting 1.16 s. A held s, th, f, n or vowel is a prolongation."""
        words = spoken(f"so the big {word} is very slow today")
        long = words[3]
        words[3] = Word(word=long.word, start=long.start, end=long.start + 1.5)
        metrics = compute_metrics(words, 10.0)
        listed = ([], [("prolongation", word)]) if counted else ([("prolongation", word)], [])
        assert [(e.type, e.text) for e in metrics.disfluencies] == listed[1]
        assert [(e.type, e.text) for e in metrics.to_review] == listed[0]
        assert metrics.stuttered_syllables == int(counted)

    @pytest.mark.parametrize(
        ("where", "silent"),
        [("after", (0.45, 0.85)), ("before", (0.0, 0.4)), ("around", (0.0, 0.35))],
    )
    def test_silence_whisper_laid_a_word_over_is_not_the_word_drawn_out(
        self, where: str, silent: tuple[float, float]
    ) -> None:
        """Real podcast clips (SEP-28k): "getting..." timed 0.92 s over 0.25 s of speech and a
        0.33 s silence after it; "Interfeared" begun 0.34 s before the speech. The word's time
        on those silences (the transcript's ``coverage.pauses``) is no sound held."""
        words = spoken("so the big snake is very slow today")
        snake = words[3]
        words[3] = Word(word=snake.word, start=snake.start, end=snake.start + 1.2)
        for k in range(4, len(words)):
            words[k] = replace(words[k], start=words[k].start + 0.9, end=words[k].end + 0.9)
        pauses = [(snake.start + silent[0], snake.start + silent[1])]
        if where == "around":
            pauses.append((snake.start + 0.8, snake.start + 1.2))
        assert events(compute_metrics(words, 10.0, pauses=pauses)) == []
        assert events(compute_metrics(words, 10.0)) == [("prolongation", None, "snake", True)]

    @pytest.mark.parametrize("drawn_s", [3.3, 14.9])
    def test_a_word_drawn_over_speech_left_without_words_is_listed_to_review(
        self, drawn_s: float
    ) -> None:
        # The last word whisper wrote before speech it could not write (another language, a
        # lost sentence) is laid over it: as likely that as a sound held, so a clinician looks.
        # (A 1.5 s "snake" covers all of its sound: the next test.)
        words = spoken("so the big snake is very slow today")
        snake = words[3]
        end = snake.start + drawn_s
        words[3] = Word(word=snake.word, start=snake.start, end=end)
        for k in range(4, len(words)):
            words[k] = replace(words[k], start=words[k].start + drawn_s, end=words[k].end + drawn_s)
        voiced_without_words = [(snake.start + 0.4, end)]
        metrics = compute_metrics(words, 30.0, untranscribed=voiced_without_words)
        assert metrics.untranscribed  # more than "snake" may cover (pipelines.coverage)
        assert events(metrics) == []
        assert [(e.type, e.text) for e in metrics.to_review] == [("prolongation", "snake")]
        assert metrics.stuttered_syllables == 0
        # The same word with every voiced stretch under it written is counted as before.
        assert events(compute_metrics(words, 30.0)) == [("prolongation", None, "snake", True)]

    def test_a_sound_held_within_what_its_word_may_cover_is_counted(self) -> None:
        words = spoken("so the big snake is very slow today")
        snake = words[3]
        words[3] = Word(word=snake.word, start=snake.start, end=snake.start + 1.5)
        for k in range(4, len(words)):
            words[k] = replace(words[k], start=words[k].start + 1.5, end=words[k].end + 1.5)
        metrics = compute_metrics(words, 30.0, untranscribed=[(snake.start + 0.4, words[3].end)])
        assert metrics.untranscribed == ()
        assert events(metrics) == [("prolongation", None, "snake", True)]

    def test_a_long_word_whose_first_syllable_takes_the_extra_time_is_a_prolongation(
        self,
    ) -> None:
        # "I was wwwwondering if": 1.04 s for three syllables, 1.9x the speaker's 0.18 s a
        # syllable each, but its first syllable, less 0.18 s for each of the others, 3.8x.
        words = timed(
            *[(w, 0.2 * i, 0.2 * i + 0.18) for i, w in enumerate("I was so sure that".split())],
            ("wondering", 1.0, 2.04),
            *[(w, 2.1 + 0.2 * i, 2.28 + 0.2 * i) for i, w in enumerate("if you could".split())],
        )
        metrics = compute_metrics(words, 3.0)
        assert events(metrics) == [("prolongation", None, "wondering", True)]
        # Said slowly, 0.85 s (its first syllable 2.7x), it is not.
        words[5] = Word(word=" wondering", start=1.0, end=1.85)
        assert events(compute_metrics(words, 3.0)) == []

    def test_short_sample_uses_the_reference_syllable_duration(self) -> None:
        metrics = compute_metrics(timed(("so", 0.0, 1.0), ("yes", 1.1, 1.3)), 2.0)
        assert events(metrics) == [("prolongation", None, "so", True)]

    def test_long_filler_is_not_a_prolongation(self) -> None:
        words = spoken("so the big snake is very slow today")
        words.insert(2, Word(word=" ummmm", start=0.65, end=2.5))
        assert [e.type for e in compute_metrics(words, 10.0).disfluencies] == ["interjection"]

    def test_long_silence_inside_a_phrase_is_a_block(self) -> None:
        words = timed(("I", 0.0, 0.2), ("want", 0.3, 0.6), ("the", 2.1, 2.3), ("ball.", 2.4, 2.8))
        metrics = compute_metrics(words, 3.0)
        assert events(metrics) == [("block", None, "the", True)]
        block = metrics.disfluencies[0]
        assert (block.start, block.end) == (0.6, 2.1)

    def test_a_gap_over_voiced_audio_left_without_words_is_to_review(self) -> None:
        # Not a silence: speech whisper wrote nothing for (another language) lies in it.
        words = timed(("I", 0.0, 0.2), ("want", 0.3, 0.6), ("the", 3.1, 3.3), ("ball.", 3.4, 3.8))
        assert events(compute_metrics(words, 4.0)) == [("block", None, "the", True)]
        metrics = compute_metrics(words, 4.0, untranscribed=[(0.8, 2.9)])
        assert metrics.untranscribed == (pytest.approx((0.9, 2.8)),)  # past what words may cover
        assert events(metrics) == []
        assert [(e.type, e.text) for e in metrics.to_review] == [("block", "the")]

    @pytest.mark.parametrize("before", ["want.", "want?", "want-", "um"])
    def test_silence_after_a_sentence_end_or_a_filler_is_not_a_block(self, before: str) -> None:
        words = timed(("I", 0.0, 0.2), (before, 0.3, 0.6), ("the", 2.1, 2.3), ("ball.", 2.4, 2.8))
        assert "block" not in {e.type for e in compute_metrics(words, 3.0).disfluencies}

    def test_a_word_given_no_time_does_not_place_the_silence(self) -> None:
        # "while I am on the phone?" with "phone?" laid in the silence after the sentence and
        # given no time there (a word wholly on silence): the sentence ended before the silence.
        said = ("I", 0.0, 0.2), ("am", 0.2, 0.3), ("on", 0.3, 0.45), ("the", 0.45, 0.9)
        words = timed(*said, ("phone?", 2.1, 2.1), ("My", 3.1, 3.2), ("car", 3.2, 3.5))
        assert events(compute_metrics(words, 4.0)) == []
        # Given no time inside a phrase, the silence is measured between the words around it.
        words = timed(*said, ("red", 2.1, 2.1), ("car", 3.1, 3.4))
        metrics = compute_metrics(words, 4.0)
        assert events(metrics) == [("block", None, "red", True)]
        assert (metrics.disfluencies[0].start, metrics.disfluencies[0].end) == (0.9, 3.1)

    def test_a_gap_a_voiced_sound_breaks_is_no_block(self) -> None:
        # "Good morning, Laura, did you": whisper timed "Laura," after its sound, on the
        # silence before "did", where it takes no time; the sound lies in the gap.
        said = ("Good", 0.5, 0.83), ("morning,", 0.83, 1.29)
        words = timed(*said, ("Laura,", 1.99, 1.99), ("did", 2.31, 2.39), ("you", 2.39, 2.65))
        laura = Sound(1.46, 1.94, noisy=False)
        assert [e.type for e in compute_metrics(words, 3.0).disfluencies] == ["block"]
        metrics = compute_metrics(words, 3.0, sounds=[laura])
        assert "block" not in {e.type for e in (*metrics.disfluencies, *metrics.to_review)}
        # A breath in a long enough silence leaves it a block; so does a sound beside one.
        breath = Sound(1.46, 1.94, noisy=True)
        assert events(compute_metrics(words, 3.0, sounds=[breath]))[0][0] == "block"
        words = timed(*said, ("did", 3.2, 3.3), ("you", 3.3, 3.5))
        assert events(compute_metrics(words, 4.0, sounds=[laura]))[0][0] == "block"

    def test_a_comma_written_for_the_pause_does_not_hide_a_block(self) -> None:
        """Whisper punctuates the silences it hears; a comma is no proof of a phrase end."""
        words = timed(("about,", 0.0, 0.5), ("uh,", 2.4, 2.8), ("my", 3.0, 3.2))
        assert [e.type for e in compute_metrics(words, 3.5).disfluencies] == [
            "block",
            "interjection",
        ]

    def test_a_long_silence_the_speaker_pauses_anyway_is_listed_to_review(self) -> None:
        """JFK's "And so my fellow Americans | ask not | what your country can do for you, |
        ask what", whisper writing no comma at the first two: a speaker who pauses a second
        between phrases is pacing, as often as blocked."""
        words = timed(
            ("And", 0.32, 0.74), ("so", 0.74, 1.06), ("my", 1.06, 1.46), ("fellow", 1.46, 1.76),
            ("Americans", 1.76, 2.26), ("ask", 3.28, 3.88), ("not", 3.88, 4.3),
            ("what", 5.42, 5.7), ("your", 5.7, 6.04), ("country", 6.04, 6.36), ("can", 6.36, 6.76),
            ("do", 6.76, 7.02), ("for", 7.02, 7.26), ("you,", 7.26, 7.54), ("ask", 8.32, 8.66),
            ("what", 8.66, 8.94), ("you", 8.94, 9.28), ("can", 9.28, 9.5), ("do", 9.5, 9.72),
        )  # fmt: skip
        metrics = compute_metrics(words, 10.0)
        assert metrics.disfluencies == ()
        assert [(e.type, e.text, e.confidence) for e in metrics.to_review] == [
            ("block", "ask", 0.5),
            ("block", "what", 0.5),
        ]
        assert metrics.percent_syllables_stuttered == 0.0
        # Long silences where the speaker's other pauses are short stand out: blocks.
        short = timed(
            ("I", 0.0, 0.2), ("think,", 0.2, 0.5), ("we", 0.8, 1.0), ("said,", 1.0, 1.3),
            ("the", 1.6, 1.8), ("dog", 1.8, 2.1), ("barked", 3.4, 3.8), ("at", 3.8, 4.0),
            ("the", 4.0, 4.2), ("mailman,", 4.2, 4.7), ("and", 6.0, 6.2), ("it", 6.5, 6.7),
            ("ran.", 6.7, 7.0),
        )  # fmt: skip
        assert [(e.type, e.text) for e in compute_metrics(short, 7.5).disfluencies] == [
            ("block", "barked"),
            ("block", "and"),
        ]

    def test_a_long_silence_after_a_word_no_phrase_ends_on_stays_a_block(self) -> None:
        # Paced as JFK, but each silence follows "the", "to" or "and": inside a phrase.
        words = timed(
            ("We", 0.0, 0.3), ("went", 0.3, 0.6), ("to", 0.6, 0.8), ("the", 0.8, 1.0),
            ("lake", 2.1, 2.5), ("and", 2.5, 2.8), ("swam", 3.9, 4.3), ("out", 4.3, 4.6),
            ("to", 4.6, 4.8), ("dive.", 5.9, 6.3),
        )  # fmt: skip
        metrics = compute_metrics(words, 7.0)
        assert [(e.type, e.text) for e in metrics.disfluencies] == [
            ("block", "lake"),
            ("block", "swam"),
            ("block", "dive."),
        ]
        assert metrics.to_review == ()

    def test_block_threshold_is_a_setting(self) -> None:
        words = timed(("I", 0.0, 0.2), ("want", 0.3, 0.6), ("the", 2.1, 2.3), ("ball.", 2.4, 2.8))
        metrics = compute_metrics(words, 3.0, MetricsSettings(block_min_s=2.0))
        assert metrics.disfluencies == ()

    def test_a_syllable_with_two_events_is_stuttered_once(self) -> None:
        # Blocked before "snake", then "snake" prolonged: two SLD, one stuttered syllable.
        words = timed(
            ("I", 0.0, 0.2), ("saw", 0.3, 0.5), ("a", 0.6, 0.7), ("big", 0.8, 1.0),
            ("snake", 2.5, 4.0), ("in", 4.1, 4.3), ("the", 4.4, 4.6), ("yard.", 4.7, 5.0),
        )  # fmt: skip
        metrics = compute_metrics(words, 5.0)
        assert [e.type for e in metrics.disfluencies] == ["block", "prolongation"]
        assert metrics.stuttering_like_disfluencies == 2
        assert metrics.stuttered_syllables == 1
        assert metrics.percent_syllables_stuttered == pytest.approx(100 / 8)
        assert metrics.sld_per_100_syllables == pytest.approx(200 / 8)


def test_hand_computed_percent_syllables_stuttered() -> None:
    # um(1) my(1) my(-) name(1) is(1) b-(-) b-(-) Bob(1) and(1) I(1) like,(1) I(1) love(1)
    # dogs(1) = 11 syllables; stuttered: "my" and "Bob" = 2.
    text = "Um, my my name is b- b- Bob and I like, I love dogs."
    metrics = compute_metrics(spoken(text), 6.0)
    span = 14 * 0.35 - 0.05
    assert events(metrics) == [
        ("interjection", None, "Um,", False),
        ("repetition", "whole_word", "my my", True),
        ("repetition", "part_word", "b- b- Bob", True),
        ("revision", None, "I like,", False),
    ]
    assert metrics.word_count == 14
    assert metrics.syllable_count == 11
    assert metrics.stuttered_syllables == 2
    assert metrics.percent_syllables_stuttered == pytest.approx(200 / 11)
    assert metrics.sld_per_100_syllables == pytest.approx(200 / 11)
    assert (metrics.stuttering_like_disfluencies, metrics.other_disfluencies) == (2, 2)
    assert metrics.counts_by_type == {
        "interjection": 1,
        "repetition": 2,
        "revision": 1,
        "prolongation": 0,
        "block": 0,
    }
    assert metrics.speaking_span_s == pytest.approx(span)
    assert metrics.speech_time_s == pytest.approx(span)  # 50 ms gaps are not pauses
    assert metrics.words_per_minute == pytest.approx(14 / span * 60)
    assert metrics.syllables_per_minute == pytest.approx(11 / span * 60)
    assert metrics.disfluencies_per_minute == pytest.approx(4 / span * 60)
    assert metrics.articulation_rate == pytest.approx(11 / span)


def test_to_dict_is_json_with_the_thresholds_used() -> None:
    metrics = compute_metrics(spoken("my my name is Sam"), 3.0, MetricsSettings(block_min_s=1.5))
    data = json.loads(json.dumps(metrics.to_dict(), allow_nan=False))
    assert data["settings"]["block_min_s"] == 1.5
    assert data["disfluencies"][0] == {
        "type": "repetition",
        "subtype": "whole_word",
        "text": "my my",
        "start": 0.0,
        "end": 0.65,
        "stuttering_like": True,
        "confidence": 0.85,
        "evidence": ["transcript"],
    }
    assert data["disfluency_count"] == 1
    assert all(not (isinstance(v, float) and math.isnan(v)) for v in data.values())


_HELD_BEFORE_LATE_WORD = Sound(0.43, 1.15, noisy=False, flows_on=True)


def begun_late(first: str) -> list[Word]:
    """``first`` begun where ``_HELD_BEFORE_LATE_WORD`` ends, then "we can try the new place on
    the corner"."""
    return timed(
        (first, 1.17, 1.69),
        *(
            (w, 1.7 + i * 0.3, 1.95 + i * 0.3)
            for i, w in enumerate("we can try the new place on the corner".split())
        ),
    )


class TestSoundsWithoutWords:
    """Whisper smooths fillers and drawn-out onsets away; the sound outside the words stays."""

    def test_a_sound_running_into_a_late_word_is_its_onset_drawn_out(self) -> None:
        # "mmmmaybe we can try": whisper's "Maybe" starts where the drawn-out "m" ends.
        metrics = compute_metrics(begun_late("Maybe"), 5.0, sounds=[_HELD_BEFORE_LATE_WORD])
        assert events(metrics) == [("prolongation", None, "Maybe", True)]
        event = metrics.disfluencies[0]
        assert (event.start, event.evidence) == (0.43, ("timing", "acoustic"))
        assert metrics.stuttered_syllables == 1

    @pytest.mark.parametrize("word", ["Good", "Tomorrow", "Getting", "Can"])
    def test_a_sound_running_into_a_word_spelt_with_a_stop_first_is_listed_to_review(
        self, word: str
    ) -> None:
        """A stop is a closure and a release: a sound running on into "Good" is not its first
        sound held. It is a sound whisper left unwritten before the word, or the vowel after the
        release held with the word begun late: listed to review, not counted."""
        metrics = compute_metrics(begun_late(word), 5.0, sounds=[_HELD_BEFORE_LATE_WORD])
        assert metrics.disfluencies == ()
        assert [(e.type, e.text, e.start) for e in metrics.to_review] == [
            ("prolongation", word, 0.43)
        ]
        assert metrics.stuttered_syllables == 0

    def test_a_short_onset_heard_running_into_its_word_is_enough(self) -> None:
        # "the wwwwash": whisper's "So," took the start of the "w", so the sound it left and
        # "wash" last 0.68 s together, under the 0.8 s a word alone needs, over 0.6 s.
        words = timed(
            *((w, i * 0.25, i * 0.25 + 0.2) for i, w in enumerate("dinner is ready".split())),
            ("So,", 1.3, 1.74),
            ("wash", 2.18, 2.42),
            *((w, 2.42 + i * 0.25, 2.62 + i * 0.25) for i, w in enumerate("your hands".split())),
        )
        sound = Sound(1.74, 2.18, noisy=False, flows_on=True)
        metrics = compute_metrics(words, 4.0, sounds=[sound])
        assert events(metrics) == [("prolongation", None, "wash", True)]
        shorter = Sound(1.95, 2.18, noisy=False, flows_on=True)  # 0.47 s with "wash"
        assert compute_metrics(words, 4.0, sounds=[shorter]).disfluencies == ()

    def test_a_hiss_running_straight_into_a_word_spelt_with_it_is_its_onset_drawn_out(
        self,
    ) -> None:
        # "ssssometimes the train is late": whisper's "Sometimes" starts at the vowel; the
        # held "s" before it is noise-like, 0.88 s, and ends where the word starts.
        words = timed(
            ("Sometimes", 1.3, 1.74),
            *((w, 1.74 + i * 0.25, 1.94 + i * 0.25) for i, w in enumerate("the train is".split())),
            ("late.", 2.62, 3.08),
        )
        hiss = Sound(0.42, 1.29, noisy=True)
        metrics = compute_metrics(words, 4.0, sounds=[hiss])
        assert events(metrics) == [("prolongation", None, "Sometimes", True)]
        assert metrics.disfluencies[0].start == 0.42
        # A breath: before a word spelt otherwise ("h" included), or one that leaves a gap.
        for word in ("Usually", "However"):
            other = [replace(words[0], word=f" {word}"), *words[1:]]
            assert compute_metrics(other, 4.0, sounds=[hiss]).disfluencies == ()
        breath = Sound(0.42, 1.2, noisy=True)
        assert compute_metrics(words, 4.0, sounds=[breath]).disfluencies == ()

    def test_only_the_first_syllable_of_a_longer_word_is_drawn_out(self) -> None:
        # "rrrreally good coffee": the sound and "Really" last 0.91 s, 0.46 s a syllable over
        # both, under twice the speaker's 0.25 s; but the second syllable takes its usual time,
        # so the first lasts 0.66 s.
        words = timed(
            ("Really", 0.91, 1.51),
            *((w, 1.55 + i * 0.25, 1.8 + i * 0.25) for i, w in enumerate("good coffee is".split())),
            *((w, 2.3 + i * 0.25, 2.55 + i * 0.25) for i, w in enumerate("hard to find".split())),
        )
        sound = Sound(0.6, 0.9, noisy=False, flows_on=True)
        metrics = compute_metrics(words, 4.0, sounds=[sound])
        assert events(metrics) == [("prolongation", None, "Really", True)]
        # The same time over a longer word leaves its first syllable too little.
        longer = [replace(words[0], word=" Usually"), *words[1:]]
        assert compute_metrics(longer, 4.0, sounds=[sound]).disfluencies == ()

    def test_a_filler_whisper_wrote_on_a_drawn_out_sound_is_that_sound(self) -> None:
        # "uuuusually I take the bus" written "Umm, usually": whisper left the start of the
        # sound without a word and wrote the rest of it as a filler.
        words = timed(
            ("Umm,", 0.7, 1.22),
            ("usually", 1.48, 1.52),
            *((w, 1.55 + i * 0.25, 1.8 + i * 0.25) for i, w in enumerate("I take the".split())),
            *((w, 2.3 + i * 0.25, 2.55 + i * 0.25) for i, w in enumerate("early bus".split())),
        )
        sound = Sound(0.32, 0.7, noisy=False, flows_on=True)
        metrics = compute_metrics(words, 3.0, sounds=[sound])
        assert events(metrics) == [("prolongation", None, "usually", True)]
        assert (metrics.disfluencies[0].start, metrics.disfluencies[0].end) == (0.32, 1.52)
        # Without the sound running into it, or with a pause after it, the filler is one.
        assert events(compute_metrics(words, 3.0)) == [("interjection", None, "Umm,", False)]
        paused = [words[0], *timed(("usually", 1.6, 2.0), ("I", 2.05, 2.2))]
        assert ("interjection", None, "Umm,", False) in events(
            compute_metrics(paused, 3.0, sounds=[sound])
        )
        # Before a word spelt with a stop first ("uuuum, good" written "Umm, good") the sound
        # and the filler are no onset of the word, whose "g" cannot be held: the filler is one.
        good = [words[0], replace(words[1], word=" good"), *words[2:]]
        metrics = compute_metrics(good, 3.0, sounds=[sound])
        assert ("interjection", None, "Umm,", False) in events(metrics)
        assert "prolongation" not in {e.type for e in metrics.disfluencies}

    def test_a_hum_written_against_a_prolongation_is_that_sound(self) -> None:
        # "the vvvvegetables" written "the mmm, kitchenels": the drawn-out "v" is one event.
        words = timed(
            *((w, i * 0.25, i * 0.25 + 0.2) for i, w in enumerate("let's order pizza".split())),
            ("the", 1.14, 1.46),
            ("mmm,", 1.46, 1.76),
            ("kitchenels", 1.92, 2.3),
            ("can", 2.3, 2.5),
        )
        sound = Sound(0.8, 1.14, noisy=False, flows_on=True)
        metrics = compute_metrics(words, 3.0, sounds=[sound])
        assert events(metrics) == [("prolongation", None, "the", True)]
        # Without the prolongation, or away from it, the hum is a filler.
        assert events(compute_metrics(words, 3.0)) == [("interjection", None, "mmm,", False)]
        apart = [*words[:4], *timed(("mmm,", 1.8, 2.1), ("kitchen", 2.2, 2.5))]
        assert ("interjection", None, "mmm,", False) in events(
            compute_metrics(apart, 3.0, sounds=[sound])
        )

    def test_a_voiced_sound_between_words_is_a_filled_pause_to_review(self) -> None:
        words = spoken("I think we should leave before the traffic gets bad")
        sound = Sound(words[1].end + 0.02, words[1].end + 0.5, noisy=False)
        shifted = words[:2] + [Word(w.word, w.start + 0.6, w.end + 0.6) for w in words[2:]]
        metrics = compute_metrics(shifted, 6.0, sounds=[sound])
        assert metrics.disfluencies == ()
        assert [(e.type, e.evidence) for e in metrics.to_review] == [
            ("interjection", ("timing", "acoustic"))
        ]

    def test_a_breath_a_short_sound_or_a_long_hum_is_nothing(self) -> None:
        words = spoken("I think we should leave before the traffic gets bad")
        shifted = words[:2] + [Word(w.word, w.start + 0.6, w.end + 0.6) for w in words[2:]]
        breath = Sound(words[1].end + 0.02, words[1].end + 0.5, noisy=True)
        short = Sound(words[1].end + 0.02, words[1].end + 0.25, noisy=False)
        # A hum or music the whole recording long is no filled pause either.
        hum = Sound(0.0, 6.0, noisy=False)
        for sound in (breath, short, hum):
            metrics = compute_metrics(shifted, 6.0, sounds=[sound])
            assert metrics.disfluencies == () and metrics.to_review == ()

    def test_an_ordinary_word_after_a_sound_is_not_prolonged(self) -> None:
        words = spoken("so we went to the shop and bought bread")
        sound = Sound(words[2].start - 0.3, words[2].start - 0.01, noisy=False)
        assert "prolongation" not in {
            e.type for e in compute_metrics(words, 5.0, sounds=[sound]).disfluencies
        }


class TestUnclearSpeech:
    """Words whisper was guessing at, run after run (another language, mumbling): what a rule
    finds there is the guess, so it is listed to review (``MetricsSettings.unclear_words``)."""

    @staticmethod
    def doubted(words: list[Word], first: int, last: int, probability: float) -> list[Word]:
        return [
            replace(w, probability=probability) if first <= k <= last else w
            for k, w in enumerate(words)
        ]

    def test_events_in_a_run_of_guessed_words_are_to_review(self) -> None:
        # tiny.en on Italian after an English sentence: "my own, my own, my own," at 0.04-0.06.
        words = self.doubted(
            spoken("the fence last spring my own my own my own and then the doctor said"),
            4,
            9,
            0.05,
        )
        metrics = compute_metrics(words, 10.0)
        assert events(metrics) == []
        assert [e.type for e in metrics.to_review] == ["repetition"]
        assert metrics.unclear == ((words[4].start, words[9].end),)
        assert metrics.stuttered_syllables == 0
        data = metrics.to_dict()
        assert data["unclear"] == [[round(words[4].start, 3), round(words[9].end, 3)]]
        assert FluencyMetrics.from_dict(data).unclear == metrics.unclear

    @pytest.mark.parametrize(("first", "last", "probability"), [(4, 9, 0.35), (5, 8, 0.05)])
    def test_words_doubted_less_or_fewer_in_a_row_still_count(
        self, first: int, last: int, probability: float
    ) -> None:
        # Whisper doubts the words of a stutter too: four in a row at 0.05, or six at 0.35,
        # is a disfluency it was unsure how to write, not speech it could not make out.
        words = self.doubted(
            spoken("the fence last spring my own my own my own and then the doctor said"),
            first,
            last,
            probability,
        )
        metrics = compute_metrics(words, 10.0)
        assert [e.type for e in metrics.disfluencies] == ["repetition"]
        assert metrics.unclear == ()


class TestSpeechLanguage:
    def test_syllables_are_counted_by_the_speech_language(self) -> None:
        words = spoken("Die Schule ist heute für kleine Leute")
        german = compute_metrics(words, 5.0, language="de")
        assert german.syllable_count == 11  # die Schu-le ist heu-te für klei-ne Leu-te
        assert compute_metrics(words, 5.0).syllable_count == 7  # English rules: one each
        assert german.to_dict()["language"] == "de"
        assert german.to_dict()["syllables_supported"] is True

    def test_an_unsupported_language_reports_no_syllable_figures(self) -> None:
        metrics = compute_metrics(spoken("wij wij gaan naar huis"), 5.0, language="nl")
        data = metrics.to_dict()
        assert data["language"] == "nl"
        assert data["syllables_supported"] is False
        for key in (
            "syllable_count",
            "syllables_per_minute",
            "articulation_rate",
            "sld_per_100_syllables",
            "percent_syllables_stuttered",
        ):
            assert data[key] is None, key
        json.dumps(data, allow_nan=False)
        # Figures that need no syllables are still there, disfluencies included.
        assert data["word_count"] == 5
        assert data["words_per_minute"] > 0
        assert events(metrics) == [("repetition", "whole_word", "wij wij", True)]
        assert metrics.stuttered_syllables == 1
