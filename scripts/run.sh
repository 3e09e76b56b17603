#!/usr/bin/env bash
# Start the task worker and gunicorn; stop both together. Called by `make run`.
set -euo pipefail
PORT="${1:-8000}"
PY=.venv/bin/python

$PY manage.py run_worker &
WORKER=$!
trap 'kill "$WORKER" 2>/dev/null || true' EXIT INT TERM

echo
echo "Kexie (科协工作平台) is starting on http://127.0.0.1:${PORT}/"
$PY manage.py load_demo --if-empty | sed -n '/Demo logins/,$p'
echo "Health: http://127.0.0.1:${PORT}/healthz   Stop: Ctrl+C"
echo

.venv/bin/gunicorn kexie.wsgi:application \
  --bind "127.0.0.1:${PORT}" \
  --workers "${WEB_CONCURRENCY:-2}" \
  --access-logfile - \
  --graceful-timeout 20
