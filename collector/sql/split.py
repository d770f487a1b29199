"""A SQL file -> its statements, on the dialect's tokens (strings and comments respected).

Statements end at top-level semicolons and at T-SQL `GO` lines. Procedure bodies are opened up:
the `CREATE PROCEDURE … AS|IS … BEGIN` header and the block's `BEGIN`/`END` words are dropped, so
the statements inside count as statements of the file. Statements that follow each other without a
semicolon (T-SQL batches) are separated later, when a piece does not parse (`resplit`).
"""
from __future__ import annotations

import itertools
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlglot import TokenType
from sqlglot.dialects.dialect import Dialect


@dataclass
class Chunk:
    sql: str
    line: int
    tokens: list[Any] | None = None  # the statement's tokens, so the file is tokenized only once


_TRANSACTION = {"TRANSACTION", "TRAN", "WORK", "DISTRIBUTED"}
# Words that start a statement; one at the start of a line may begin a new statement in a batch.
_STARTS = {TokenType.SELECT, TokenType.INSERT, TokenType.UPDATE, TokenType.DELETE, TokenType.MERGE,
           TokenType.CREATE, TokenType.DROP, TokenType.ALTER, TokenType.WITH, TokenType.TRUNCATE,
           TokenType.SET, TokenType.USE, TokenType.DECLARE, TokenType.EXECUTE, TokenType.COMMAND}
_CONTINUES = {TokenType.UNION, TokenType.INTERSECT, TokenType.EXCEPT, TokenType.ALL, TokenType.DISTINCT,
              TokenType.L_PAREN, TokenType.ALIAS, TokenType.COMMA}


def _word(token: Any) -> str:
    return str(token.text).upper()


def _is_go(tokens: list[Any], i: int) -> bool:
    """A `GO` alone on its line (T-SQL's batch separator)."""
    token = tokens[i]
    if _word(token) != "GO":
        return False
    before = tokens[i - 1].line < token.line if i else True
    after = tokens[i + 1].line > token.line if i + 1 < len(tokens) else True
    return before and after


def _pieces(tokens: list[Any]) -> list[list[Any]]:
    pieces: list[list[Any]] = [[]]
    for i, token in enumerate(tokens):
        if token.token_type == TokenType.SEMICOLON or _is_go(tokens, i):
            pieces.append([])
        else:
            pieces[-1].append(token)
    return [p for p in pieces if p]


def _procedure_header(piece: list[Any]) -> int:
    """How many leading tokens are a `CREATE [OR REPLACE|ALTER] PROCEDURE name (…) AS|IS [BEGIN]` header."""
    words = [_word(t) for t in piece[:4]]
    at = 1 + (2 if words[1:2] == ["OR"] else 0)
    if words[:1] != ["CREATE"] or len(words) <= at or words[at] not in ("PROCEDURE", "PROC"):
        return 0
    depth = 0
    for i in range(at + 1, len(piece)):
        kind, word = piece[i].token_type, _word(piece[i])
        depth += kind == TokenType.L_PAREN
        depth -= kind == TokenType.R_PAREN
        if depth:
            continue
        if word == "BEGIN":
            return i + 1
        if word in ("AS", "IS"):
            return i + 2 if i + 1 < len(piece) and _word(piece[i + 1]) == "BEGIN" else i + 1
    return len(piece)


def _unblocked(piece: list[Any]) -> list[Any]:
    """The piece without procedure headers and block BEGIN/END words (CASE … END stays)."""
    out: list[Any] = []
    cases = 0
    i = _procedure_header(piece)
    while i < len(piece):
        token, word = piece[i], _word(piece[i])
        nxt = _word(piece[i + 1]) if i + 1 < len(piece) else ""
        if word == "CASE":
            cases += 1
        elif word == "END" and cases:
            cases -= 1
        elif word == "END":
            same_line = i + 1 < len(piece) and piece[i + 1].line == token.line
            skip = same_line and (piece[i + 1].token_type == TokenType.VAR or nxt in ("IF", "LOOP")) and nxt != "GO"
            i += 2 if skip else 1  # `END`, `END p` (Oracle), `END IF`
            continue
        elif word == "BEGIN" and nxt not in _TRANSACTION and (out or i + 1 < len(piece)):
            i += 1
            continue
        out.append(token)
        i += 1
    return out


def split_statements(text: str, dialect: Dialect) -> list[Chunk]:
    try:
        tokens = dialect.tokenize(text)
    except Exception:
        return _split_naive(text)
    chunks = []
    for piece in _pieces(tokens):
        piece = _unblocked(piece)
        if piece:
            chunks.append(Chunk(text[piece[0].start: piece[-1].end + 1], piece[0].line, piece))
    return chunks


def resplit(chunk: Chunk, text: str, parses: Callable[[list[Any]], str]) -> list[Chunk]:
    """A piece that does not parse as one statement (or only as a generic command), as consecutive
    statements: it is cut where a statement word starts a line, and neighbours are joined back while
    together they parse as one real statement, or the first alone does not parse (`INSERT INTO t` +
    `SELECT …` is one statement, `SELECT …` + `SELECT …` two). `parses`: "ok", "command" or "fail"."""
    tokens = chunk.tokens or []
    cuts, depth = [], 0
    for i, token in enumerate(tokens):
        if i and depth == 0 and token.token_type in _STARTS and token.line > tokens[i - 1].line \
                and tokens[i - 1].token_type not in _CONTINUES:
            cuts.append(i)
        depth += (token.token_type == TokenType.L_PAREN) - (token.token_type == TokenType.R_PAREN)
    if not cuts:
        return [chunk]
    bounds = [0, *cuts, len(tokens)]
    segments = [tokens[a:b] for a, b in itertools.pairwise(bounds)]
    statements = [segments[0]]
    for segment in segments[1:]:
        joined = statements[-1] + segment
        if parses(joined) == "ok" or parses(statements[-1]) == "fail":
            statements[-1] = joined
        else:
            statements.append(segment)
    return [Chunk(text[s[0].start: s[-1].end + 1], s[0].line, s) for s in statements]


_COMMENTS = re.compile(r"--[^\n]*|/\*.*?\*/|#[^\n]*", re.S)


def _has_code(piece: str) -> bool:
    return bool(_COMMENTS.sub("", piece).strip())


def _split_naive(text: str) -> list[Chunk]:
    chunks: list[Chunk] = []
    line = 1
    for piece in text.split(";"):
        if _has_code(piece):
            offset = len(piece) - len(piece.lstrip())
            chunks.append(Chunk(piece.strip(), line + piece.count("\n", 0, offset)))
        line += piece.count("\n")
    return chunks
