#!/usr/bin/env bash
# Which Python interpreter to use. The supported versions are listed once, here, and must match
# requires-python in pyproject.toml (tests/unit/test_python_versions.py checks that).
#
#   scripts/find_python.sh           # newest supported on the PATH: python3.13, python3.12, python3.11,
#                                    # then python3 if it is one of them; prints its path
#   scripts/find_python.sh PYTHON    # PYTHON (a command or path), if it is a supported version
#   scripts/find_python.sh --all     # one line per supported version, newest first: "3.12 <path>",
#                                    # or "3.12 -" when absent; also looks in pyenv's versions folder
#
# The chosen interpreter (or the versions needed when none fits) is reported on stderr; exit 1 if
# none fits. A command that exists but does not run (e.g. a pyenv shim for a version that is not
# activated) does not count.
set -euo pipefail

SUPPORTED=(3.13 3.12 3.11) # newest first

needed() { # "3.11, 3.12 or 3.13"
  local out="" i
  for ((i = ${#SUPPORTED[@]} - 1; i > 0; i--)); do out+="${SUPPORTED[i]}, "; done
  echo "${out%, } or ${SUPPORTED[0]}"
}

# version_of CMD -> "3.12.1" when CMD runs, else nothing
version_of() {
  "$1" -c 'import sys; print("%d.%d.%d" % sys.version_info[:3])' 2>/dev/null || true
}

supported() { # supported 3.12.1 -> exit 0 when its minor version is listed
  local v
  for v in "${SUPPORTED[@]}"; do [ "${1%.*}" = "$v" ] && return 0; done
  return 1
}

# find_minor 3.12 [pyenv] -> path of a working interpreter of that minor version, or nothing
find_minor() {
  local minor=$1 cmd path full root
  for cmd in "python$minor" python3; do
    path=$(command -v "$cmd" 2>/dev/null) || continue
    full=$(version_of "$path")
    if [ "${full%.*}" = "$minor" ]; then echo "$path"; return 0; fi
  done
  if [ "${2:-}" = pyenv ] && root=$(pyenv root 2>/dev/null); then
    # newest installed patch release of that minor version
    for path in $(ls -d "$root/versions/$minor".* 2>/dev/null | sort -rV); do
      full=$(version_of "$path/bin/python$minor")
      if [ "${full%.*}" = "$minor" ]; then echo "$path/bin/python$minor"; return 0; fi
    done
  fi
  return 0
}

if [ "${1:-}" = --all ]; then
  for minor in "${SUPPORTED[@]}"; do
    path=$(find_minor "$minor" pyenv)
    echo "$minor ${path:--}"
  done
  exit 0
fi

if [ -n "${1:-}" ]; then # an explicit PYTHON=...
  full=$(version_of "$1")
  if [ -z "$full" ]; then
    echo "PYTHON=$1 does not run; this project needs Python $(needed)" >&2
    exit 1
  fi
  if ! supported "$full"; then
    echo "PYTHON=$1 is Python $full; this project needs Python $(needed)" >&2
    exit 1
  fi
  echo "using Python $full ($1, from PYTHON=)" >&2
  command -v "$1"
  exit 0
fi

for minor in "${SUPPORTED[@]}"; do
  path=$(find_minor "$minor")
  if [ -n "$path" ]; then
    echo "using Python $(version_of "$path") ($path): the newest supported one on the PATH" >&2
    echo "$path"
    exit 0
  fi
done

found=""
if path=$(command -v python3 2>/dev/null); then
  full=$(version_of "$path")
  found="python3 here is ${full:-not runnable}; "
fi
echo "no supported Python on the PATH (${found}looked for python3.X and python3): need Python" \
  "$(needed). Install one, or point PYTHON=/path/to/python3.X at it." >&2
exit 1
