"""Neo4j: schema, the one write path, queries and views."""
