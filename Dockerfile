# GPU image for imageclef-baselines: CUDA runtime + the package with every task's dependencies.
#   docker build -t imageclef-baselines .
#   docker run --gpus all --shm-size=16g -v $PWD/data:/work/data -v $PWD/outputs:/work/outputs \
#       imageclef-baselines baselines train experiment=drawnui trainer=gpu
FROM nvidia/cuda:12.8.1-cudnn-runtime-ubuntu24.04

ENV DEBIAN_FRONTEND=noninteractive \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    VIRTUAL_ENV=/opt/venv \
    PATH=/opt/venv/bin:$PATH \
    BASELINES_ROOT=/work

RUN apt-get update \
    && apt-get install -y --no-install-recommends python3 python3-venv python3-dev git libgl1 libglib2.0-0 \
    && rm -rf /var/lib/apt/lists/* \
    && python3 -m venv $VIRTUAL_ENV

WORKDIR /opt/imageclef-baselines
# CUDA wheels of torch/torchvision first (cu128 index), so the dependency layer is cached.
RUN pip install --upgrade pip \
    && pip install --index-url https://download.pytorch.org/whl/cu128 "torch>=2.11" "torchvision>=0.26"
COPY pyproject.toml README.md ./
COPY src ./src
COPY configs ./configs
# Non-editable install: the wheel carries configs/ as baselines/configs.
RUN pip install ".[tasks]"

WORKDIR /work
CMD ["baselines", "--help"]
