"""Opening the Neo4j driver with a clear one-line failure, and telling an outage from an error."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from neo4j import Driver, GraphDatabase
from neo4j.exceptions import (
    AuthError,
    ClientError,
    ConnectionPoolError,
    DatabaseUnavailable,
    IncompleteCommit,
    ServiceUnavailable,
    SessionExpired,
    TransientError,
)

# Failures that mean "Neo4j cannot be reached or keeps failing transiently", not "this write is wrong".
OUTAGE_ERRORS: tuple[type[BaseException], ...] = (
    ServiceUnavailable, SessionExpired, TransientError, DatabaseUnavailable, ConnectionPoolError,
    IncompleteCommit, ConnectionError, TimeoutError,
)


class Neo4jUnavailable(RuntimeError):
    """Neo4j cannot be reached at start (or rejects the credentials)."""


class Neo4jOutage(Exception):
    """Neo4j cannot be reached (or keeps failing transiently): hold the work and retry later."""


def is_outage(exc: BaseException) -> bool:
    return isinstance(exc, (Neo4jOutage, *OUTAGE_ERRORS))


def is_write_outage(exc: BaseException) -> bool:
    """For writes, a transaction ended by its timeout is an outage too: hold the work and retry it later.
    (A read past its timeout is the reader's answer: the query took too long.)"""
    return is_outage(exc) or timed_out(exc)


def timed_out(exc: BaseException) -> bool:
    """A transaction ended by its timeout: the server hangs or a lock is held; retry later, like an outage.
    One ended while it waited on a lock reports LockClientStopped rather than TransactionTimedOut."""
    code = exc.code or "" if isinstance(exc, ClientError) else ""
    return "TransactionTimedOut" in code or code.endswith("LockClientStopped")


@contextmanager
def as_outage() -> Iterator[None]:
    """Re-raise an outage-class driver error as Neo4jOutage; anything else passes unchanged."""
    try:
        yield
    except OUTAGE_ERRORS as exc:
        raise Neo4jOutage(f"{type(exc).__name__}: {exc}") from exc


def open_driver(uri: str, auth: tuple[str, str] | None = None, *, verify: bool = True) -> Driver:
    driver = GraphDatabase.driver(uri, auth=auth, user_agent="sagemaker-lineage-collector",
                                  notifications_min_severity="OFF")
    if verify:
        try:
            driver.verify_connectivity()
        except AuthError:
            driver.close()
            raise Neo4jUnavailable(f"Neo4j at {uri} rejected the credentials "
                                   "(check NEO4J_USERNAME / NEO4J_PASSWORD)") from None
        except (ServiceUnavailable, OSError) as exc:
            driver.close()
            raise Neo4jUnavailable(f"cannot reach Neo4j at {uri} (NEO4J_URI): {exc}") from None
    return driver


def ping(driver: Driver, database: str | None = None) -> None:
    """One auto-commit `RETURN 1` (no retries: fails fast); raises when Neo4j does not answer."""
    with driver.session(database=database) as session:
        session.run("RETURN 1").consume()
