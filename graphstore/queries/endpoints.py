"""Endpoint queries: which endpoints served a model, when (docs/graph-model.md, "Endpoints")."""
from __future__ import annotations

from graphstore.queries.model import REQUIRED, Column, Param, Query, limit_param

MODEL = Param("model", "string", "the model, by ARN or name", REQUIRED)
SINCE = Param("since", "datetime", "from (inclusive); default: 30 days before `until`")
UNTIL = Param("until", "datetime", "to (exclusive); default: now")

SERVED_BY = Query(
    "served-by",
    "The endpoints that served a model in a time window, through which config or inference component, "
    "retired endpoints included: the deployment history",
    """WITH coalesce(datetime($until), datetime()) AS until
WITH until, coalesce(datetime($since), until - duration({days: 30})) AS since
CALL () {
  MATCH (m:Model {arn: $model}) RETURN m
  UNION
  MATCH (m:Model {name: $model}) RETURN m
}
CALL (m) {
  MATCH (m)-[v:DEPLOYED_AS]->(c:EndpointConfig)-[d:DEPLOYED_TO]->(e:Endpoint)
  RETURN e, c.name AS via, v.variant AS variant, v.variant_kind AS variant_kind, d
  UNION
  MATCH (m)-[v:DEPLOYED_AS]->(c:InferenceComponent)-[d:DEPLOYED_TO]->(e:Endpoint)
  RETURN e, c.name AS via, v.variant AS variant, v.variant_kind AS variant_kind, d
}
WITH since, until, m, e, via, variant, variant_kind, d
WHERE d.since < until AND (d.until IS NULL OR d.until >= since)
RETURN m.name AS model, e.name AS endpoint, e.status AS status, coalesce(e.retired, false) AS retired,
       via, variant, variant_kind, d.since AS served_from, d.until AS served_until,
       coalesce(d.current, false) AS current
ORDER BY served_from DESC, endpoint
LIMIT $limit""",
    (MODEL, SINCE, UNTIL, limit_param()),
    (Column("model", "the model's name"),
     Column("endpoint", "the endpoint's name"),
     Column("status", "the endpoint's status now"),
     Column("retired", "whether the endpoint is gone from AWS"),
     Column("via", "the endpoint config (or inference component) that deployed the model"),
     Column("variant", "the variant the model ran in"),
     Column("variant_kind", "`production`, `shadow` or `inference-component`"),
     Column("served_from", "when that period began"),
     Column("served_until", "when it ended (empty while current)"),
     Column("current", "whether the endpoint serves it now")),
    {"model": "churn-model-v1", "limit": 100},
    family="lineage",
)

QUERIES = (SERVED_BY,)
