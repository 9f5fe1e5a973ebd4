#!/usr/bin/env bash
# mypy cannot follow setuptools' package-dir mapping (kefu.agents lives in ./agents), so give it
# the installed layout as a tree of symlinks under build/typecheck/kefu and check that.
set -euo pipefail
cd "$(dirname "$0")/.."
root=build/typecheck/kefu
rm -rf build/typecheck && mkdir -p "$root"
for f in kefu/*; do ln -s "$PWD/$f" "$root/$(basename "$f")"; done
for area in agents tools recsys safety evals; do ln -s "$PWD/$area" "$root/$area"; done
echo build/typecheck
