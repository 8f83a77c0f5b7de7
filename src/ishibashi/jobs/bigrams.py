"""Two-character search terms: the bigram index of migration 0004.

Trigram indexes (migration 0002) cannot serve a term of two characters, and Japanese has many
(翻訳, 監修, 鰻丼). Migration 0004 adds an index of every two-character substring of a job's
title and description, kept by the database itself:

- SQLite: the contentless FTS5 table ``jobs_job_bigrams``, fed by triggers on ``jobs_job`` that
  call ``jobs_bigrams(text)``, a Python SQL function registered on every connection (see
  ``JobsConfig.ready``). One token per bigram: ``g`` + the bigram's UTF-8 in hex, so FTS5's ascii
  tokenizer keeps any character. ASCII letters are upper-cased, like SQLite's ``LIKE``, which
  ignores only ASCII case.
- PostgreSQL: the stored generated column ``jobs_job.search_bigrams`` (not a model field), built
  by the IMMUTABLE SQL function ``jobs_bigrams(text)`` over ``UPPER(title) || ' ' ||
  UPPER(description)``, the expressions Django's ``icontains`` compares, with a GIN index.

A bigram match is exact, so it needs no ``LIKE`` afterwards. Whitespace never occurs inside a
search term (``search_terms`` splits on it), so bigrams with whitespace are left out on SQLite.
Changing ``sqlite_bigram_tokens`` changes the tokens: the FTS5 table must then be rebuilt, since
a contentless table deletes a row by the tokens it was given.
"""

from __future__ import annotations

from typing import Any

FUNCTION = "jobs_bigrams"

ASCII_UPPER = str.maketrans("abcdefghijklmnopqrstuvwxyz", "ABCDEFGHIJKLMNOPQRSTUVWXYZ")


def bigram_token(pair: str) -> str:
    """One FTS5 token for a two-character string, whatever its characters."""
    return "g" + pair.translate(ASCII_UPPER).encode("utf-8", "surrogatepass").hex()


def sqlite_bigram_tokens(text: str | None) -> str:
    """The tokens of every distinct two-character substring of ``text`` without whitespace."""
    if not text:
        return ""
    grams = {
        text[i : i + 2]
        for i in range(len(text) - 1)
        if not (text[i].isspace() or text[i + 1].isspace())
    }
    return " ".join(sorted(bigram_token(gram) for gram in grams))


def register_sqlite_functions(dbapi_connection: Any) -> None:
    """Make ``jobs_bigrams`` callable from SQL (the triggers of migration 0004) on a
    sqlite3 connection. Idempotent."""
    dbapi_connection.create_function(FUNCTION, 1, sqlite_bigram_tokens, deterministic=True)


def on_connection_created(sender: Any, connection: Any, **kwargs: Any) -> None:
    if connection.vendor == "sqlite":
        register_sqlite_functions(connection.connection)


# PostgreSQL: the characters of the text in order, each joined to the next. No DISTINCT: GIN
# keeps each key once per row, and sorting the ~400 bigrams of a description costs a third more.
POSTGRES_FUNCTION = (
    "CREATE OR REPLACE FUNCTION jobs_bigrams(text) RETURNS text[] "
    "LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$ "
    "SELECT coalesce(array_agg(g), '{}') FROM ("
    "SELECT c || lead(c) OVER (ORDER BY n) AS g "
    "FROM pg_catalog.string_to_table($1, NULL) WITH ORDINALITY AS t(c, n)"
    ") AS s WHERE g IS NOT NULL $$"
)
