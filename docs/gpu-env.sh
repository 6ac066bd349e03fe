# Sourced by the device scripts (docs/paper-gpu-session.sh, docs/paper-gpu-ablate.sh) after they set
# DEVICE, OUT and the log: makes Node, the npm packages and the worker's Python packages available on a
# lent machine with no network, from what travels in .dev (node.xz and nm.tar.xz: Node and
# node_modules compressed; whl/: pyzmq and nibabel wheels), and defines say (a line with the seconds
# since t0). Expects to be sourced from the repository root.
t0=$(date +%s); say() { echo "[$(( $(date +%s) - t0 ))s] $*"; }
if [ -f .dev/node.xz ] && [ ! -d node_modules ]; then
  python3 - <<'EOF' || exit 1
import lzma, os, shutil, tarfile
os.makedirs('/tmp/nodebin', exist_ok=True)
with lzma.open('.dev/node.xz') as f, open('/tmp/nodebin/node', 'wb') as g: shutil.copyfileobj(f, g)
os.chmod('/tmp/nodebin/node', 0o755)
with tarfile.open('.dev/nm.tar.xz', 'r:xz') as t: t.extractall('.')
EOF
  export PATH=/tmp/nodebin:$PATH
fi
if [ "$DEVICE" != cpu ]; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .dev/whl/*.whl || exit 1
  export PYTHONPATH=/tmp/site HYPERSEG_WORKER_PYTHON=python3
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
fi
say "node $(node --version); $(${HYPERSEG_WORKER_PYTHON:-python3} -c 'import torch, numpy, zmq, pyarrow; print("torch", torch.__version__, "cuda", torch.cuda.is_available(), "numpy", numpy.__version__, "zmq", zmq.__version__, "pyarrow", pyarrow.__version__)')"
