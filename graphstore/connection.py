"""Opening the Neo4j driver from settings, with a clear one-line failure."""
from __future__ import annotations

from neo4j import Driver, GraphDatabase
from neo4j.exceptions import AuthError, ServiceUnavailable

from config import Settings


class Neo4jUnavailable(RuntimeError):
    pass


def open_driver(settings: Settings, *, verify: bool = True) -> Driver:
    driver = GraphDatabase.driver(settings.neo4j_uri, auth=settings.neo4j_auth,
                                  user_agent="sagemaker-lineage-collector",
                                  notifications_min_severity="OFF")
    if verify:
        try:
            driver.verify_connectivity()
        except AuthError:
            driver.close()
            raise Neo4jUnavailable(f"Neo4j at {settings.neo4j_uri} rejected the credentials "
                                   "(check NEO4J_USERNAME / NEO4J_PASSWORD)") from None
        except (ServiceUnavailable, OSError) as exc:
            driver.close()
            raise Neo4jUnavailable(f"cannot reach Neo4j at {settings.neo4j_uri} (NEO4J_URI): {exc}") from None
    return driver
