# Shared setup for run-app and run-tests: Debian packages, a venv, the project installed.
# Usage: . scripts/_setup.sh PKG... ; then $PY / $VENV are set.
set -euo pipefail
ROOT=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd)
VENV=${LAYER_EXPLORER_VENV:-$ROOT/.venv}
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

need_apt() {
    local missing=()
    for pkg in "$@"; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" \
            || missing+=("$pkg")
    done
    if [ ${#missing[@]} -gt 0 ]; then
        echo "Installing Debian packages: ${missing[*]}"
        $SUDO apt-get update -qq
        DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
    fi
}

need_venv() {
    local extras=$1
    if [ ! -x "$VENV/bin/python" ]; then
        python3 -m venv "$VENV"
    fi
    PY="$VENV/bin/python"
    echo "Installing Python packages into $VENV (log: $VENV/pip.log)"
    if ! "$PY" -m pip install -q --disable-pip-version-check -e "$ROOT$extras" \
            >"$VENV/pip.log" 2>&1; then
        cat "$VENV/pip.log" >&2
        exit 1
    fi
    "$PY" -c "import explorer" # fail loudly when the install did not work
}
