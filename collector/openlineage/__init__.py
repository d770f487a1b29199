"""OpenLineage out: graph rows -> OpenLineage events, pure (docs/openlineage.md)."""
