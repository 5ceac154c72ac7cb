#!/usr/bin/env bash
# Build the one-folder frozen app (PyInstaller) on Debian 12 / Python 3.11:
#
#   packaging/build.sh [OUTDIR]        (default: build/frozen)
#
# Result: OUTDIR/dist/layer-explorer/ with the executable `layer-explorer`, its libraries
# in _internal/, the desktop files in share/ and install.sh (desktop integration).
# Installs PyInstaller (the project's `freeze` extra) into the venv when it is missing.
# LAYER_EXPLORER_VENV picks the venv, as for run-app and run-tests.
. "$(dirname -- "${BASH_SOURCE[0]}")/../scripts/_setup.sh"
OUT=$(mkdir -p "${1:-$ROOT/build/frozen}" && cd "${1:-$ROOT/build/frozen}" && pwd)
# binutils: PyInstaller reads the libraries' dependencies with objdump. The Qt libraries
# the app needs from the system are bundled from the build machine, so they must be here.
# shellcheck disable=SC2086  # the package lists are meant to split
need_apt python3-venv binutils libarchive13 $QT_RUNTIME $QT_XCB
if [ -x "$VENV/bin/python" ] && "$VENV/bin/python" -c "import explorer, PyInstaller" 2>/dev/null
then PY="$VENV/bin/python"
else need_venv "[freeze]"
fi
APP="$OUT/dist/layer-explorer"
start=$(date +%s)
echo "Building $APP (log: $OUT/pyinstaller.log)"
if ! "$PY" -m PyInstaller --noconfirm --clean --log-level WARN --distpath "$OUT/dist" \
        --workpath "$OUT/work" "$ROOT/packaging/layer-explorer.spec" >"$OUT/pyinstaller.log" 2>&1
then
    cat "$OUT/pyinstaller.log" >&2
    exit 1
fi
ID=io.github.layerexplorer.LayerExplorer
mkdir -p "$APP/share/applications" "$APP/share/metainfo" "$APP/share/mime/packages" \
    "$APP/share/icons"
cp "$ROOT/packaging/linux/$ID.desktop" "$APP/share/applications/"
cp "$ROOT/packaging/linux/$ID.metainfo.xml" "$APP/share/metainfo/"
cp "$ROOT/packaging/linux/$ID.mime.xml" "$APP/share/mime/packages/$ID.xml"
cp -r "$ROOT/packaging/icons/hicolor" "$APP/share/icons/"
cp "$ROOT/packaging/install.sh" "$APP/"
echo "Built in $(( $(date +%s) - start )) s: $APP ($(du -sh "$APP" | cut -f1))"
