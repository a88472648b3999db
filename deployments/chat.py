"""The protocol the report generator uses to ask an LLM for a narrative."""

from __future__ import annotations

from typing import Protocol, runtime_checkable


@runtime_checkable
class ChatClient(Protocol):
    """One LLM backend (Groq chat, Azure OpenAI chat) answering with a JSON object as text."""

    @property
    def name(self) -> str:
        """What wrote the narrative, as stored in ``report.generator`` ("groq:<model>")."""
        ...

    def complete_json(self, *, system: str, user: str) -> str:
        """Return the model's reply (expected to be a JSON object) as raw text.

        Raises ``deployments.transcriber.BackendUnavailable`` when the backend cannot answer
        after its own retries, and ``BackendRejected`` when it refuses the request.
        """
        ...
