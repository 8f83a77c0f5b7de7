"""The guards' API shapes, shared by the message, proposal and check endpoints."""

from __future__ import annotations

from typing import Any

from ninja import Field, Schema

from ishibashi.core.schemas import BodyIn


class GuardsOut(Schema):
    """What the message guards found in a stored text (docs/guards.md). Nothing is refused."""

    categories: list[str] = Field(
        description="before_escrow, off_platform, free_test: the categories hit (may be empty)."
    )
    version: int = Field(
        description="The pattern version it was checked with; 0: written before the guards."
    )


def guards_of(categories: list[str], version: int) -> dict[str, Any]:
    return {"categories": list(categories), "version": version}


class GuardCheckIn(BodyIn):
    text: str
    as_client: bool = Field(
        False, description="Word the warnings for a client (true) or a worker (false)."
    )


class GuardHitOut(Schema):
    category: str
    category_label: str
    reason: str = Field(description="email_address, phone_number, chat_app, chat_link, …")
    reason_text: str
    excerpt: str = Field(description="The words as written, for showing the writer.")
    start: int
    end: int


class GuardWarningOut(Schema):
    category: str
    label: str
    warning: str = Field(description="What the writer is told before sending.")
    caution: str = Field(description="What the reader is shown on the message.")


class GuardCheckOut(Schema):
    categories: list[str]
    version: int
    hits: list[GuardHitOut]
    warnings: list[GuardWarningOut]
