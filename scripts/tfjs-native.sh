#!/usr/bin/env bash
# Installs the native TensorFlow.js engine (@tensorflow/tfjs-node) without storage.googleapis.com,
# which its own install script downloads libtensorflow from: the package comes from npm, the
# TensorFlow C library from the PyPI wheel tensorflow-cpu, and the addon is compiled here.
#
#   bash scripts/tfjs-native.sh      (Linux x86_64; needs python3 with pip, g++, make, Node's headers)
#
# tfjs-node goes into node_modules only (npm install --no-save): package.json and package-lock.json
# are untouched, so `npm ci` (or an `npm install` that prunes) removes it again; re-run this script
# then. The wheel and the library taken from it live outside the checkout (HYPERSEG_TF_CACHE,
# default ~/.cache/hyperseg/tf-wheel) and node_modules/@tensorflow/tfjs-node/deps links to them,
# so deleting that cache disables the engine too (hyperseg falls back to wasm).
# Idempotent: finished steps are skipped; a re-run takes about a second.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
tfjs_version=4.22.0
tf_version="${HYPERSEG_TF_VERSION:-2.15.1}"
cache="${HYPERSEG_TF_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/hyperseg/tf-wheel}"
lib="$cache/libtensorflow-$tf_version"
pkg="$here/node_modules/@tensorflow/tfjs-node"
say() { echo "tfjs-native: $*" >&2; }
die() { say "$*"; exit 2; }
need() { command -v "$1" >/dev/null || die "'$1' not found; $2"; }

[ "$(uname -sm)" = "Linux x86_64" ] || die "only Linux x86_64 is supported (the tensorflow-cpu wheel's C library), not $(uname -sm)"
[ -d "$here/node_modules/@tensorflow/tfjs" ] || die "run 'npm ci' in $here first"

# 1. the package, without its install script (that is the download that fails)
if [ "$(node -p "require('$pkg/package.json').version" 2>/dev/null)" != "$tfjs_version" ]; then
  say "npm install --no-save @tensorflow/tfjs-node@$tfjs_version"
  (cd "$here" && npm install --no-save --ignore-scripts --no-audit --no-fund "@tensorflow/tfjs-node@$tfjs_version" >&2)
fi

# 2. libtensorflow from the wheel: lib/ (the C API is in libtensorflow_cc) and the few headers the addon uses
if [ ! -f "$lib/.complete" ]; then
  need python3 "install Python 3 with pip (Debian: apt-get install python3-pip)"
  python3 -m pip --version >/dev/null 2>&1 || die "python3 has no pip; install it (Debian: apt-get install python3-pip)"
  whl="$(ls "$cache"/tensorflow_cpu-"$tf_version"-*.whl 2>/dev/null | head -1 || true)"
  if [ -z "$whl" ]; then
    say "downloading tensorflow-cpu==$tf_version from PyPI (about 200 MB) into $cache"
    mkdir -p "$cache" && rm -rf "$cache/dl.tmp"
    python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.11 --implementation cp --abi cp311 \
      --platform manylinux2014_x86_64 -d "$cache/dl.tmp" "tensorflow-cpu==$tf_version" >&2
    mv "$cache"/dl.tmp/tensorflow_cpu-*.whl "$cache/" && rm -rf "$cache/dl.tmp"
    whl="$(ls "$cache"/tensorflow_cpu-"$tf_version"-*.whl | head -1)"
  fi
  say "extracting libtensorflow from $(basename "$whl")"
  rm -rf "$lib.tmp" && mkdir -p "$lib.tmp/lib"
  python3 - "$whl" "$lib.tmp" <<'EOF'
import sys, zipfile, shutil, os
whl, out = sys.argv[1:]
headers = ('tensorflow/include/tensorflow/c/', 'tensorflow/include/tensorflow/core/platform/',
           'tensorflow/include/tsl/c/', 'tensorflow/include/tsl/platform/')
libs = ('tensorflow/libtensorflow_cc.so.2', 'tensorflow/libtensorflow_framework.so.2')
with zipfile.ZipFile(whl) as z:
    for m in z.namelist():
        if m in libs:
            dest = os.path.join(out, 'lib', os.path.basename(m))
        elif m.startswith(headers) and m.endswith('.h'):
            dest = os.path.join(out, 'include', m[len('tensorflow/include/'):])
        else:
            continue
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        with z.open(m) as src, open(dest, 'wb') as dst:
            shutil.copyfileobj(src, dst, 1 << 20)
EOF
  # -ltensorflow links libtensorflow_cc.so.2 (it exports the whole TF_*/TFE_* C API); the *.2.9.1 names
  # are what tfjs-node's install script looks for, so a later `npm rebuild` does not try to download
  (cd "$lib.tmp/lib" && ln -s libtensorflow_cc.so.2 libtensorflow.so && ln -s libtensorflow_framework.so.2 libtensorflow_framework.so \
    && ln -s libtensorflow_cc.so.2 libtensorflow.so.2.9.1 && ln -s libtensorflow_framework.so.2 libtensorflow_framework.so.2.9.1)
  touch "$lib.tmp/.complete"
  rm -rf "$lib" && mv "$lib.tmp" "$lib"
fi
if [ "$(readlink "$pkg/deps" || true)" != "$lib" ]; then
  rm -rf "$pkg/deps" "$pkg/lib" "$pkg/build" && ln -s "$lib" "$pkg/deps"
fi

# 3. the addon, compiled against Node's own headers (node-gyp cannot fetch them from nodejs.org here)
napi="$(node -p "Math.max(...require('$pkg/package.json').binary.napi_versions.filter(v => v <= +process.versions.napi))")"
if [ ! -f "$pkg/lib/napi-v$napi/tfjs_binding.node" ]; then
  need g++ "install a C++ compiler and make (Debian: apt-get install g++ make)"
  need make "install make (Debian: apt-get install make)"
  need python3 "node-gyp needs Python 3"
  nodedir=
  for d in ${NODEDIR:-"$(dirname "$(dirname "$(node -p process.execPath)")")" /usr /usr/local}; do
    [ -f "$d/include/node/node_api.h" ] && [ -f "$d/include/node/common.gypi" ] && { nodedir="$d"; break; }
  done
  [ -n "$nodedir" ] || die "no Node headers (include/node/node_api.h, common.gypi) next to $(node -p process.execPath) or in /usr/include/node; install them for node $(node -v) (Debian's nodejs: apt-get install libnode-dev; NodeSource's nodejs package has them) or set NODEDIR to a directory with include/node"
  gyp="$(npm root -g)/npm/node_modules/node-gyp/bin/node-gyp.js"
  if [ -f "$gyp" ]; then gyp=(node "$gyp"); else gyp=(npx --yes node-gyp@11); fi
  say "compiling the addon (node-gyp, N-API v$napi, headers from $nodedir/include/node)"
  (cd "$pkg" && "${gyp[@]}" rebuild --loglevel=warn --nodedir="$nodedir" --napi_build_version="$napi" --module_name=tfjs_binding \
     --module_path="$pkg/lib/napi-v$napi" -j "$(nproc)" >&2) || die "the addon did not compile (output above)"
fi

# 4. check: the engine loads from the project and computes
(cd "$here" && TF_CPP_MIN_LOG_LEVEL=2 node -e '
const tf = require("@tensorflow/tfjs-node");
const r = tf.tensor2d([[1, 2], [3, 4]]).matMul(tf.tensor2d([[1, 2], [3, 4]])).dataSync().join();
if (tf.getBackend() !== "tensorflow" || r !== "7,10,15,22") { console.error(`backend ${tf.getBackend()}, matmul ${r}`); process.exit(1); }
console.error(`tfjs-native: OK: @tensorflow/tfjs-node ${tf.version["tfjs-node"]}, backend tensorflow, TensorFlow ${tf.backend().binding.TF_Version}`);
') || die "@tensorflow/tfjs-node does not load; delete $pkg and $lib and run this script again"
