"""OpenLineage out: the `openlineage export` command and the consumer's live emission (docs/openlineage.md)."""
