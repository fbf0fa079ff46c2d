# IMDB LSTM sentiment service: one uvicorn process serving the committed SavedModel on :8000.
#
#   docker build -t imdb-sentiment:cpu .                                  # CPU (default)
#   docker build --build-arg TF_VARIANT=gpu -t imdb-sentiment:gpu .       # NVIDIA GPU (CUDA wheels)
#   docker build --build-arg PYTHON_VERSION=3.13 -t imdb-sentiment:py313 .  # another supported Python
#
# Classic-builder compatible on purpose (no BuildKit-only syntax).

# Python of the image: 3.11 by default (the version the compose smoke test builds); 3.12 and 3.13
# are supported too - requirements/runtime.txt is the same pinned closure on all three.
ARG PYTHON_VERSION=3.11
FROM python:${PYTHON_VERSION}-slim

# cpu -> tensorflow-cpu (pinned in requirements/runtime.txt)
# gpu -> tensorflow[and-cuda] of the same pinned version, which pulls the CUDA/cuDNN wheels from PyPI
ARG TF_VARIANT=cpu

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /srv

# Dependencies first: this layer is rebuilt only when the pins change, not on every code change.
# TensorFlow's C++ headers (~290 MB, only for compiling custom ops) are removed afterwards.
COPY requirements/runtime.txt requirements/runtime.txt
RUN set -eu; \
    case "$TF_VARIANT" in \
      cpu) cp requirements/runtime.txt /tmp/requirements.txt ;; \
      gpu) tf_version=$(sed -n 's/^tensorflow-cpu==//p' requirements/runtime.txt); \
           grep -v '^tensorflow-cpu==' requirements/runtime.txt > /tmp/requirements.txt; \
           echo "tensorflow[and-cuda]==${tf_version}" >> /tmp/requirements.txt ;; \
      *) echo "TF_VARIANT must be cpu or gpu, got '$TF_VARIANT'" >&2; exit 2 ;; \
    esac; \
    pip install --no-cache-dir -r /tmp/requirements.txt; \
    rm -f /tmp/requirements.txt; \
    site=$(python -c "import sysconfig; print(sysconfig.get_paths()['purelib'])"); \
    rm -rf "$site/tensorflow/include"; \
    python -c "import tensorflow as tf; print('tensorflow', tf.__version__)"; \
    useradd --uid 10001 --user-group --home-dir /tmp --no-create-home --shell /usr/sbin/nologin app

# Application code and the committed model artifact (read-only for the service user). batch/ is
# the batch-scoring CLI (`python -m batch`), which runs in the image as well.
COPY model_contract/ model_contract/
COPY app/ app/
COPY batch/ batch/
COPY model_artifacts/ model_artifacts/

# Every path TensorFlow/Keras may write to points at /tmp, which compose mounts as a tmpfs on top
# of a read-only root filesystem.
ENV PYTHONPATH=/srv \
    HOME=/tmp \
    TMPDIR=/tmp \
    KERAS_HOME=/tmp/.keras \
    TF_CPP_MIN_LOG_LEVEL=1 \
    MODEL_DIR=/srv/model_artifacts/imdb_lstm \
    GRPC_PORT=8001 \
    GRPC_HOST=0.0.0.0 \
    TF_VARIANT=${TF_VARIANT}

USER 10001:10001
# 8000: HTTP (the JSON API and V2 REST); 8001: V2 gRPC (GRPC_PORT; an empty GRPC_PORT turns it off).
EXPOSE 8000 8001

# No curl in slim images: probe /readyz with the standard library. The start period covers the
# TensorFlow import + model load + warm-up.
HEALTHCHECK --interval=10s --timeout=3s --start-period=90s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/readyz', timeout=2).status == 200 else 1)"]

# Exec form: the server (uvicorn, in-process) is PID 1 and receives SIGTERM directly -> graceful
# drain and exit. The uvicorn flags (read deadlines, keep-alive, connection cap) are app/serve.py's.
STOPSIGNAL SIGTERM
CMD ["python", "-m", "app.serve", "--host", "0.0.0.0", "--port", "8000"]
