"""Pure SQL lineage extraction with sqlglot: statements -> table- and column-level lineage."""
from collector.sql.extract import SqlSource, extract_sources, extract_sql, normalize_schema
from collector.sql.model import ColumnLineage, FileLineage, StatementLineage

__all__ = [
           "ColumnLineage",
           "FileLineage",
           "SqlSource",
           "StatementLineage",
           "extract_sources",
           "extract_sql",
           "normalize_schema",
]
