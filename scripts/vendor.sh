#!/usr/bin/env bash
# Copy the front-end files Kexie serves out of node_modules into vendor/ (served by whitenoise).
# Only these files are served: nothing else from the npm packages reaches the browser.
set -euo pipefail
cd "$(dirname "$0")/.."
rm -rf vendor
copy() { install -D -m 0644 "node_modules/$1" "vendor/$2"; }
copy @tabler/core/dist/css/tabler.min.css tabler/css/tabler.min.css
copy @tabler/core/dist/css/tabler.min.css.map tabler/css/tabler.min.css.map
copy htmx.org/dist/htmx.min.js htmx/htmx.min.js
copy echarts/dist/echarts.min.js echarts/echarts.min.js
