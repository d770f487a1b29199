"""The read-only HTTP API (`lineage-collector serve`): FastAPI on uvicorn, every answer from Neo4j.

`jobs.api.app.create_app(settings)` builds the application; this package is the only place that imports
FastAPI (the `api` extra), so the rest of the product runs without it. See docs/api.md.
"""
