#!/usr/bin/env bash
# Screenshots of a training report in a real browser, and the check that it fits the window.
#   tools/report-screenshots/run.sh out/report.html [output-folder]
# Installs Debian's Chromium when it is missing (as root, or through sudo), then for each window width (1,024 and 1,920 px)
# writes report-<width>.png (the whole page) into the output folder (default: the report's folder) and fails when the page
# is wider than the window (a horizontal scroll bar). The page's width is measured by the browser itself: a copy of the
# report with a one-line script that writes document.documentElement.scrollWidth into the DOM, read back with --dump-dom.
set -euo pipefail
report="${1:?usage: $0 REPORT.html [OUTPUT-FOLDER]}"
[[ -f $report ]] || { echo "$0: no such file: $report" >&2; exit 2; }
out="${2:-$(dirname "$report")}"
mkdir -p "$out"

if ! command -v chromium >/dev/null; then
  sudo=()
  [[ $(id -u) -ne 0 ]] && sudo=(sudo)
  "${sudo[@]}" apt-get update -q
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -q chromium
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# Chromium's flags for a closed machine: no background connections, no sandbox as root, a fresh profile.
flags=(--headless --no-sandbox --disable-gpu --disable-quic --no-first-run --disable-background-networking
  --disable-component-update --disable-sync --hide-scrollbars --user-data-dir="$work/profile")
sed 's|</body>|<script>document.body.setAttribute("data-scroll-width", document.documentElement.scrollWidth);document.body.setAttribute("data-scroll-height", document.documentElement.scrollHeight)</script></body>|' \
  "$report" > "$work/measured.html"

status=0
for width in 1024 1920; do
  dom=$(chromium "${flags[@]}" --window-size="$width,900" --virtual-time-budget=2000 --dump-dom "file://$work/measured.html" 2>/dev/null)
  scroll_width=$(sed -n 's/.*data-scroll-width="\([0-9]*\)".*/\1/p' <<<"$dom" | head -n 1)
  scroll_height=$(sed -n 's/.*data-scroll-height="\([0-9]*\)".*/\1/p' <<<"$dom" | head -n 1)
  [[ -n $scroll_width && -n $scroll_height ]] || { echo "$0: the browser did not measure the page at $width px" >&2; exit 1; }
  chromium "${flags[@]}" --window-size="$width,$scroll_height" --screenshot="$out/report-$width.png" "file://$(realpath "$report")" 2>/dev/null
  if ((scroll_width > width)); then
    echo "report at $width px: the page is $scroll_width px wide, wider than the window: FAIL" >&2
    status=1
  else
    echo "report at $width px: page $scroll_width × $scroll_height px, fits; wrote $out/report-$width.png"
  fi
done
exit $status
