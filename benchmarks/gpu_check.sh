#!/usr/bin/env bash
# The one call that checks the GPU paths: the CUDA tests, the throughput benchmarks and the
# one-shot cost benchmark, one JSON report at the end (the work is in benchmarks/gpu_check.py; see its docstring).
#
#   bash benchmarks/gpu_check.sh          # on a CUDA machine: under 8 minutes
#   bash benchmarks/gpu_check.sh --dry    # the same plumbing on the CPU, tiny sizes
#
# The Python: $PYTHON if set, else the first of .venv/bin/python, python3 and python whose
# torch sees CUDA (with --dry: whose torch imports), else the first with torch, else any.
set -u
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dry=0
for arg in "$@"; do
  if [ "$arg" = "--dry" ]; then dry=1; fi
done

candidates=()
if [ -n "${PYTHON:-}" ]; then candidates+=("$PYTHON"); fi
candidates+=("$repo/.venv/bin/python" python3 python)

chosen="" chosen_why="" with_torch="" any_python=""
for candidate in "${candidates[@]}"; do
  path="$(command -v "$candidate" 2>/dev/null)" || continue
  any_python="${any_python:-$path}"
  if [ "$dry" = 1 ]; then  # CUDA not needed: finding torch is enough, and quicker than importing it
    "$path" -c 'import importlib.util as u, sys; sys.exit(3 if u.find_spec("torch") else 1)' >/dev/null 2>&1
  else
    timeout 60 "$path" -c 'import sys, torch; sys.exit(0 if torch.cuda.is_available() else 3)' >/dev/null 2>&1
  fi
  case $? in
    0) chosen="$path" chosen_why="torch with CUDA"; break ;;
    3) if [ "$dry" = 1 ]; then chosen="$path" chosen_why="torch, CUDA not needed (--dry)"; break; fi
       with_torch="${with_torch:-$path}" ;;
  esac
done
if [ -z "$chosen" ] && [ -n "$with_torch" ]; then
  chosen="$with_torch" chosen_why="torch WITHOUT CUDA: the CUDA parts will fail"
fi
if [ -z "$chosen" ] && [ -n "$any_python" ]; then
  chosen="$any_python" chosen_why="NO torch found: every part will fail"
fi
if [ -z "$chosen" ]; then
  echo "gpu_check: no Python found (tried: ${candidates[*]})" >&2
  exit 2
fi
echo "gpu_check: using $chosen ($chosen_why)" >&2
exec "$chosen" "$repo/benchmarks/gpu_check.py" "$@"
