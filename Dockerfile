# jobprobe worker image: `docker build -t jobprobe:local .`; the default command is the CPU
# worker (docker-compose.yml overrides it for the GPU worker, beat and Flower).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    JOBPROBE_DATA_DIR=/var/lib/jobprobe

WORKDIR /app
COPY . /app
RUN pip install ".[gpu,docker,flower,web]" \
    && useradd --create-home --uid 10001 jobprobe \
    && useradd --system --no-create-home --shell /usr/sbin/nologin jobprobe-job \
    && mkdir -p /var/lib/jobprobe \
    && chown jobprobe:jobprobe /var/lib/jobprobe

USER jobprobe
VOLUME ["/var/lib/jobprobe"]
CMD ["celery", "-A", "jobprobe.worker.app", "worker", "-l", "INFO", "-Q", "cpu,iss,analysis"]
