#!/usr/bin/env bash
# The ASK CLI's build step (its "custom" build flow runs hooks/build.sh ZIP DEBUG from the
# project root): build the Lambda bundle where `ask deploy` expects it. Render first.
set -euo pipefail
cd "$(dirname "$0")/.."
exec .venv/bin/trigger-coach package --output "$1"
