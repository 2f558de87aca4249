#!/usr/bin/env bash
# Start-up cost of one change, A/B: `bench/startup_ab.sh OLD_CHECKOUT NEW_CHECKOUT [RUNS]` times, in
# alternation, (1) reading the settings, (2) the bot stopping at an empty DISCORD_TOKEN, (3) a whole
# `run_bot.py ask` on the index in this checkout's var/; prints each one's median in ms.
# Made for issue 12 item 12 (the pydantic-settings model); see docs/benchmarks.md.
set -euo pipefail
old=$(cd "$1" && pwd); new=$(cd "$2" && pwd); runs=${3:-11}
here=$(cd "$(dirname "$0")/.." && pwd)
py="$here/.venv/bin/python"
declare -A took
ms() { local s e; s=$(date +%s%N); "$@" >/dev/null 2>&1 || true; e=$(date +%s%N); echo $(((e - s) / 1000000)); }
for _ in $(seq "$runs"); do
  for side in old new; do
    dir=${!side}
    took[$side-settings]+="$(cd "$dir" && ms "$py" -c 'from index.settings import IndexSettings; IndexSettings.from_env()') "
    took[$side-token]+="$(cd "$dir" && DISCORD_TOKEN= ms "$py" run_bot.py) "
    took[$side-ask]+="$(cd "$dir" && INDEX_DIR="$here/var/index" MODEL_CACHE_DIR="$here/var/models" ms "$py" run_bot.py ask 'When does the contract expire?') "
  done
done
median() { tr ' ' '\n' | grep . | sort -n | awk '{a[NR]=$1} END {print a[int((NR + 1) / 2)]}'; }
for what in settings token ask; do
  echo "$what: old $(echo "${took[old-$what]}" | median) ms, new $(echo "${took[new-$what]}" | median) ms"
done
