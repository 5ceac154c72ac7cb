# Shared setup for run-app and run-tests: Debian packages, a venv, the project installed.
# Usage: . scripts/_setup.sh PKG... ; then $PY / $VENV are set.
set -euo pipefail
ROOT=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd)
VENV=${LAYER_EXPLORER_VENV:-$ROOT/.venv}
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

# What PySide6's Qt needs from Debian: offscreen rendering and fonts (tests, screenshots)...
QT_RUNTIME="libegl1 libgl1 libglib2.0-0 libfontconfig1 libfreetype6 libxkbcommon0 libdbus-1-3 fonts-dejavu-core"
# ... and the X11 (xcb) platform plugin for a window on a desktop.
QT_XCB="libx11-xcb1 libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxcb-image0 libxcb-randr0 libxcb-render-util0 libxcb-shape0 libxcb-xkb1 libxkbcommon-x11-0"

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
