# voicebot -- the assistant's image (docker-compose.yml service "voicebot").
#
#   docker build -t voicebot .
#
# Speech and embedding models are not baked in: they live in the /models volume
# (voicebot models pull <lang>), so the image stays small and models are shared.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    HF_HUB_OFFLINE=1 \
    TRANSFORMERS_OFFLINE=1

# espeak-ng: the speech synthesiser pyttsx3 drives.
RUN apt-get update \
    && apt-get install -y --no-install-recommends espeak-ng libespeak-ng1 \
    && rm -rf /var/lib/apt/lists/*

# uid 1000 like the "asterisk" user of the Asterisk image: both containers share the
# whispers volume (the assistant writes, Asterisk plays).
RUN useradd --uid 1000 --user-group --create-home --shell /usr/sbin/nologin voicebot \
    && mkdir -p /models /var/lib/voicebot/sounds/voicebot \
    && chown -R voicebot:voicebot /models /var/lib/voicebot

WORKDIR /app

# torch first, from the CPU-only index: the default wheel of torch is a multi-GB CUDA
# build. pyproject.toml pins the same version, which the "+cpu" build satisfies.
RUN pip install torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu

COPY pyproject.toml setup.py README.md ./
COPY voicebot ./voicebot
RUN pip install . && voicebot --help > /dev/null

USER voicebot
ENV VOICEBOT_DATA_DIR=/var/lib/voicebot \
    VOICEBOT_MODELS_DIR=/models \
    VOICEBOT_API_HOST=0.0.0.0 \
    VOICEBOT_AUDIOSOCKET_HOST=0.0.0.0

# 9092: AudioSocket from Asterisk; 8080: API, dashboard, /health.
EXPOSE 9092 8080
HEALTHCHECK --interval=30s --timeout=10s --start-period=120s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/health', timeout=5)"]

CMD ["voicebot", "serve"]
