"""The demo: a local Neo4j, a simulated AWS account seeded with SDK-made pipelines, one sync."""
