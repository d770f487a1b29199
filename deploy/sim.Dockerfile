# syntax=docker/dockerfile:1
# The simulated AWS account (moto with the project's SageMaker extensions), seeded like `make demo`:
# docker-compose.yml's `aws-sim` service. For trying the collector only; never part of the worker image.
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
WORKDIR /src
COPY pyproject.toml README.md constraints.txt ./
COPY collector ./collector
COPY graphstore ./graphstore
COPY jobs ./jobs
COPY config ./config
COPY devtools ./devtools
RUN pip install --no-cache-dir --quiet -c constraints.txt . ./devtools && useradd --create-home --uid 10002 sim
USER 10002
EXPOSE 5000
HEALTHCHECK --interval=5s --timeout=3s --start-period=30s --retries=30 CMD ["test", "-f", "/tmp/aws-sim.ready"]
CMD ["python", "-m", "lineage_dev.sim.serve", "--host", "0.0.0.0", "--port", "5000", "--ready-file", "/tmp/aws-sim.ready"]
