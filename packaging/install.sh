#!/usr/bin/env bash
# Desktop integration for Layer Explorer: a launcher, the icon, the MIME type of OCI image
# archives and the AppStream metadata, installed for the current user (or under --prefix).
#
#   ./install.sh [--prefix DIR] [--exec PROGRAM] [--uninstall]
#
# Run from the frozen build's folder (dist/layer-explorer/), it links PREFIX/bin/layer-explorer
# to the app in that folder (keep the folder where it is). From a checkout
# (packaging/install.sh) pass --exec "$(command -v layer-explorer)" for a pip-installed app.
# PREFIX defaults to ~/.local; files go to PREFIX/bin and PREFIX/share.
set -euo pipefail
HERE=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
ID=io.github.layerexplorer.LayerExplorer
PREFIX=$HOME/.local
EXEC=""
UNINSTALL=0
while [ $# -gt 0 ]; do
    case $1 in
        --prefix) PREFIX=$2; shift 2 ;;
        --exec) EXEC=$2; shift 2 ;;
        --uninstall) UNINSTALL=1; shift ;;
        -h|--help) sed -n '2,11p' "$0"; exit 0 ;;
        *) echo "install.sh: unknown argument $1" >&2; exit 2 ;;
    esac
done
if [ -d "$HERE/share" ]; then SRC=$HERE/share                # the frozen build
else SRC=""                                                   # a checkout: packaging/
fi
SHARE=$PREFIX/share
SIZES="16 32 48 64 128 256 512"
files=("$SHARE/applications/$ID.desktop" "$SHARE/metainfo/$ID.metainfo.xml"
       "$SHARE/mime/packages/$ID.xml" "$SHARE/icons/hicolor/scalable/apps/$ID.svg")
for s in $SIZES; do files+=("$SHARE/icons/hicolor/${s}x${s}/apps/$ID.png"); done

refresh() {
    if command -v update-mime-database >/dev/null; then update-mime-database "$SHARE/mime"; fi
    if command -v update-desktop-database >/dev/null; then
        update-desktop-database -q "$SHARE/applications" || true
    fi
    if command -v gtk-update-icon-cache >/dev/null; then
        gtk-update-icon-cache -q -t -f "$SHARE/icons/hicolor" || true
    fi
}

if [ $UNINSTALL -eq 1 ]; then
    rm -f "${files[@]}"
    if [ -L "$PREFIX/bin/layer-explorer" ]; then rm -f "$PREFIX/bin/layer-explorer"; fi
    refresh
    echo "Removed Layer Explorer's desktop integration from $PREFIX"
    exit 0
fi

if [ -z "$EXEC" ]; then
    if [ -x "$HERE/layer-explorer" ]; then
        mkdir -p "$PREFIX/bin"
        ln -sfn "$HERE/layer-explorer" "$PREFIX/bin/layer-explorer"
        EXEC=$PREFIX/bin/layer-explorer
    else
        echo "install.sh: no layer-explorer next to this script: pass --exec PROGRAM" >&2
        exit 2
    fi
fi
if [ -n "$SRC" ]; then
    desktop=$SRC/applications/$ID.desktop; metainfo=$SRC/metainfo/$ID.metainfo.xml
    mime=$SRC/mime/packages/$ID.xml; icons=$SRC/icons/hicolor
else
    desktop=$HERE/linux/$ID.desktop; metainfo=$HERE/linux/$ID.metainfo.xml
    mime=$HERE/linux/$ID.mime.xml; icons=$HERE/icons/hicolor
fi
mkdir -p "$SHARE/applications" "$SHARE/metainfo" "$SHARE/mime/packages" \
    "$SHARE/icons/hicolor/scalable/apps"
# The launcher runs this very program, whatever PATH a desktop session has.
sed -e "s|^Exec=layer-explorer|Exec=\"$EXEC\"|" -e "s|^TryExec=.*|TryExec=$EXEC|" \
    "$desktop" >"$SHARE/applications/$ID.desktop"
cp "$metainfo" "$SHARE/metainfo/$ID.metainfo.xml"
cp "$mime" "$SHARE/mime/packages/$ID.xml"
cp "$icons/scalable/apps/$ID.svg" "$SHARE/icons/hicolor/scalable/apps/"
for s in $SIZES; do
    mkdir -p "$SHARE/icons/hicolor/${s}x${s}/apps"
    cp "$icons/${s}x${s}/apps/$ID.png" "$SHARE/icons/hicolor/${s}x${s}/apps/"
done
refresh
echo "Installed Layer Explorer ($EXEC) into $PREFIX: application menu, icon, file types"
