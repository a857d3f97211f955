#!/usr/bin/env bash
# Build LayerLoom's Linux desktop bundle and smoke-test it. Opt-in: it takes minutes and about a gigabyte of
# disk, so neither pytest nor .ci/run runs it.
#
#     installers/build.sh [--no-smoke] [--xz]
#
# Needs the project's venv with PyInstaller (the version pinned in constraints.txt, "installers only"):
#     .venv/bin/pip install -c constraints.txt -e . pyinstaller
#
# Writes (build/ and dist/ are git-ignored):
#     dist/LayerLoom/                              the one-folder bundle: `layerloom`, _internal/, share/, install.sh
#     dist/LayerLoom-VERSION-linux-ARCH.tar.gz     the same, compressed (--xz: .tar.xz, smaller, slower)
#     dist/build-report.txt                        what this script printed: times, sizes, what was stripped
# Exit status: 0 built, within the size budget and (unless --no-smoke) smoke-tested; 1 otherwise.
#
# Environment: PYTHON (default .venv/bin/python), BUDGET_UNPACKED_MB (900), BUDGET_COMPRESSED_MB (350).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PYTHON="${PYTHON:-$ROOT/.venv/bin/python}"
BUDGET_UNPACKED_MB="${BUDGET_UNPACKED_MB:-900}"
BUDGET_COMPRESSED_MB="${BUDGET_COMPRESSED_MB:-350}"
SMOKE=1
COMPRESS=gz
for arg in "$@"; do
  case "$arg" in
    --no-smoke) SMOKE=0 ;;
    --xz) COMPRESS=xz ;;
    -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
    *) echo "error: unknown option $arg (try --help)" >&2; exit 2 ;;
  esac
done

mkdir -p dist
REPORT="$ROOT/dist/build-report.txt"
exec > >(tee "$REPORT") 2>&1  # everything below goes to the terminal and to the report

if ! "$PYTHON" -c "import PyInstaller" 2>/dev/null; then
  echo "error: PyInstaller is not installed in $PYTHON's environment;" \
       "run: .venv/bin/pip install -c constraints.txt pyinstaller" >&2
  exit 1
fi
VERSION="$("$PYTHON" -c 'import re,pathlib; print(re.search(r"^__version__ = \"([^\"]+)\"", pathlib.Path("graph_engine/__init__.py").read_text(), re.M)[1])')"
ARCH="$(uname -m)"
BUNDLE="dist/LayerLoom"
ARCHIVE="dist/LayerLoom-$VERSION-linux-$ARCH.tar.$COMPRESS"

echo "== LayerLoom $VERSION for linux-$ARCH, $(date -u +%Y-%m-%dT%H:%MZ)"
"$PYTHON" - <<'EOF'
import platform, PyInstaller, PySide6, torch
print(f"   Python {platform.python_version()}, PyInstaller {PyInstaller.__version__}, torch {torch.__version__}, "
      f"PySide6 {PySide6.__version__}")
EOF
"$PYTHON" installers/make_icons.py --check

echo "== PyInstaller (installers/layerloom.spec)"
start=$SECONDS
rm -rf "$BUNDLE" "dist/LayerLoom-"*.tar.*
PYTHONWARNINGS=ignore "$PYTHON" -m PyInstaller --noconfirm --clean --log-level WARN --distpath dist --workpath build/pyinstaller \
  installers/layerloom.spec
pyinstaller_s=$((SECONDS - start))

echo "== second pass: prune and strip"
"$PYTHON" installers/bundle_filter.py "$BUNDLE"

echo "== desktop integration files"
share="$BUNDLE/share"
mkdir -p "$share/applications" "$share/metainfo" "$share/mime/packages"
cp installers/layerloom.desktop "$share/applications/layerloom.desktop"
cp installers/io.github.layerloom.LayerLoom.metainfo.xml "$share/metainfo/"
cp installers/layerloom-mime.xml "$share/mime/packages/layerloom.xml"
for size in 16 24 32 48 64 128 256 512; do
  mkdir -p "$share/icons/hicolor/${size}x${size}/apps"
  cp "resources/icons/layerloom-$size.png" "$share/icons/hicolor/${size}x${size}/apps/layerloom.png"
done
mkdir -p "$share/icons/hicolor/scalable/apps"
cp resources/icons/layerloom.svg "$share/icons/hicolor/scalable/apps/layerloom.svg"
cp installers/linux/install.sh "$BUNDLE/install.sh"
chmod +x "$BUNDLE/install.sh"
build_s=$((SECONDS - start))

echo "== archive ($COMPRESS)"
start=$SECONDS
if [ "$COMPRESS" = xz ]; then
  tar -C dist -cf - LayerLoom | xz -T0 -6 > "$ARCHIVE"
else
  tar -C dist -cf - LayerLoom | gzip -6 > "$ARCHIVE"
fi
archive_s=$((SECONDS - start))

unpacked=$(du -sb "$BUNDLE" | cut -f1)
compressed=$(stat -c %s "$ARCHIVE")
mb() { awk -v b="$1" 'BEGIN { printf "%.0f", b / 1000000 }'; }
echo "== sizes (MB = 10^6 bytes)"
echo "   largest parts of $BUNDLE/_internal:"
du -sb "$BUNDLE/_internal"/* | sort -rn | awk 'NR <= 8 { printf "     %6.0f MB  %s\n", $1 / 1000000, $2 }'
echo "   unpacked    $(mb "$unpacked") MB  ($BUNDLE, budget $BUDGET_UNPACKED_MB MB)"
echo "   compressed  $(mb "$compressed") MB  ($ARCHIVE, budget $BUDGET_COMPRESSED_MB MB)"
echo "   build       ${build_s} s (PyInstaller ${pyinstaller_s} s); archive ${archive_s} s"

status=0
if [ "$(mb "$unpacked")" -gt "$BUDGET_UNPACKED_MB" ] || [ "$(mb "$compressed")" -gt "$BUDGET_COMPRESSED_MB" ]; then
  echo "OVER BUDGET"
  status=1
fi
if [ "$SMOKE" = 1 ]; then
  echo "== smoke test"
  "$PYTHON" installers/smoke_test.py "$BUNDLE/layerloom" --keep dist/smoke || status=1
fi
echo "== done (exit $status); this report: dist/build-report.txt"
exit $status
