#!/bin/sh
# Install LayerLoom from this unpacked folder (the Linux bundle: layerloom, _internal/, share/).
#
#     ./install.sh              for you:      ~/.local/lib/LayerLoom, ~/.local/bin/layerloom, ~/.local/share
#     sudo ./install.sh --system for everyone: /opt/LayerLoom, /usr/local/bin/layerloom, /usr/local/share
#     ./install.sh --uninstall  [--system]  removes what the same kind of install put there
#
# The app then appears in the desktop's application menu, with its icon, and opens *.layerloom.json files.
set -eu

HERE=$(cd "$(dirname "$0")" && pwd)
MODE=user
ACTION=install
for arg in "$@"; do
  case "$arg" in
    --system) MODE=system ;;
    --uninstall) ACTION=uninstall ;;
    -h|--help) sed -n '2,8p' "$0"; exit 0 ;;
    *) echo "error: unknown option $arg (try --help)" >&2; exit 2 ;;
  esac
done
if [ "$MODE" = system ]; then
  APPDIR=/opt/LayerLoom; BINDIR=/usr/local/bin; DATADIR=/usr/local/share
else
  APPDIR="$HOME/.local/lib/LayerLoom"; BINDIR="$HOME/.local/bin"; DATADIR="${XDG_DATA_HOME:-$HOME/.local/share}"
fi
SIZES="16 24 32 48 64 128 256 512"

# A missing or failing cache tool is not an error (the menu picks the files up at the next login).
# shellcheck disable=SC2015
refresh() {
  command -v update-desktop-database >/dev/null 2>&1 && update-desktop-database -q "$DATADIR/applications" || true
  command -v update-mime-database >/dev/null 2>&1 && update-mime-database "$DATADIR/mime" >/dev/null 2>&1 || true
  command -v gtk-update-icon-cache >/dev/null 2>&1 && gtk-update-icon-cache -q -t "$DATADIR/icons/hicolor" || true
}

if [ "$ACTION" = uninstall ]; then
  rm -rf "$APPDIR"
  rm -f "$BINDIR/layerloom" "$DATADIR/applications/layerloom.desktop" \
        "$DATADIR/metainfo/io.github.layerloom.LayerLoom.metainfo.xml" "$DATADIR/mime/packages/layerloom.xml" \
        "$DATADIR/icons/hicolor/scalable/apps/layerloom.svg"
  for size in $SIZES; do rm -f "$DATADIR/icons/hicolor/${size}x${size}/apps/layerloom.png"; done
  refresh
  echo "LayerLoom removed ($MODE install)"
  exit 0
fi

[ -x "$HERE/layerloom" ] || { echo "error: run install.sh from the unpacked LayerLoom folder" >&2; exit 1; }
if [ "$HERE" != "$APPDIR" ]; then
  rm -rf "$APPDIR"
  mkdir -p "$(dirname "$APPDIR")"
  cp -a "$HERE" "$APPDIR"
fi
mkdir -p "$BINDIR" "$DATADIR/applications" "$DATADIR/metainfo" "$DATADIR/mime/packages"
ln -sf "$APPDIR/layerloom" "$BINDIR/layerloom"
# Exec with the full path: the menu entry works even when $BINDIR is not on the desktop session's PATH.
sed -e "s|^Exec=layerloom|Exec=\"$APPDIR/layerloom\"|" -e "s|^TryExec=layerloom|TryExec=$APPDIR/layerloom|" \
  "$HERE/share/applications/layerloom.desktop" > "$DATADIR/applications/layerloom.desktop"
cp "$HERE/share/metainfo/io.github.layerloom.LayerLoom.metainfo.xml" "$DATADIR/metainfo/"
cp "$HERE/share/mime/packages/layerloom.xml" "$DATADIR/mime/packages/layerloom.xml"
for size in $SIZES scalable; do
  dir=$([ "$size" = scalable ] && echo scalable || echo "${size}x${size}")
  mkdir -p "$DATADIR/icons/hicolor/$dir/apps"
  cp "$HERE/share/icons/hicolor/$dir/apps/"layerloom.* "$DATADIR/icons/hicolor/$dir/apps/"
done
refresh
echo "LayerLoom installed in $APPDIR ($MODE install); start it from the application menu or with: $BINDIR/layerloom"
