#!/usr/bin/env bash
# Bundle YASGUI into the package so the query page works with no network.
#
# Fetches the pinned @triply/yasgui release with npm into a temporary folder and copies the
# browser build (one UMD bundle, its stylesheet, and the licences) into
# metadatabronn/web/static/yasgui/. The copied files are committed; run this again only to
# move to another version (change YASGUI_VERSION, or pass a version as the first argument).
set -euo pipefail

YASGUI_VERSION="${1:-4.2.28}"

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
dest="$here/../metadatabronn/web/static/yasgui"

command -v npm >/dev/null || { echo "build_yasgui.sh: npm is needed" >&2; exit 1; }

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# npm pack takes the published tarball only, without the dependency tree: the UMD bundle
# already carries YASQE, YASR and everything else it needs in a browser.
(cd "$work" && npm pack --silent "@triply/yasgui@${YASGUI_VERSION}" >/dev/null)
tar -xzf "$work"/triply-yasgui-*.tgz -C "$work"
pkg="$work/package"

got="$(node -p "require('$pkg/package.json').version")"
if [ "$got" != "$YASGUI_VERSION" ]; then
    echo "build_yasgui.sh: asked for $YASGUI_VERSION, npm gave $got" >&2
    exit 1
fi

for f in build/yasgui.min.js build/yasgui.min.css build/yasgui.min.js.LICENSE.txt LICENSE.txt; do
    [ -s "$pkg/$f" ] || { echo "build_yasgui.sh: $f missing from the package" >&2; exit 1; }
done

rm -rf "$dest"
mkdir -p "$dest"
cp "$pkg/build/yasgui.min.js" "$pkg/build/yasgui.min.css" "$dest/"
cp "$pkg/LICENSE.txt" "$dest/LICENSE.txt"
# The licences of the libraries bundled into yasgui.min.js (CodeMirror, DataTables, ...).
cp "$pkg/build/yasgui.min.js.LICENSE.txt" "$dest/yasgui.min.js.LICENSE.txt"
echo "$YASGUI_VERSION" > "$dest/VERSION"

ls -l "$dest"
