#!/usr/bin/env bash
# The leaderboard at the scale the long-tail papers use, for a lent GPU (issue 18):
# ResNet-32 (backbone='resnet32'), 64x64 inputs, 200 epochs of SGD (lr 0.1, momentum
# 0.9, L2 2e-4, 5 warm-up epochs, cosine decay, batch 128), on MNIST-LT rho = 100 (the
# offline stand-in for CIFAR-10-LT) and its balanced-data ceiling (rho = 1).
#
# Here, once per session (needs PyPI), fetch the wheels the GPU machine lacks into
# .whl/ (git-ignored through .git/info/exclude):
#     bash benchmarks/device_longtail.sh --fetch
# On the GPU machine (device tool: carry [".whl"], timeout_s 600):
#     bash benchmarks/device_longtail.sh
# Dry run on this machine's CPU, with the venv and no wheels:
#     PYTHON=.venv/bin/python NO_WHEELS=1 DEVICE=cpu EPOCHS=1 SEEDS=1 LIMIT=900 \
#         RESULTS=/tmp/dry OUT=/tmp/dry bash benchmarks/device_longtail.sh
#
# The method groups run as parallel processes sharing the GPU, so the seconds in the
# tables are not the cost of one fit alone. Results: $RESULTS/gpu_*_longtail.*
# (benchmarks/results), and $OUT/gpu_results.tar.gz with them and every log (the device
# tool returns at most 8 files).
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "${1:-}" = "--fetch" ]; then
    grep -qx '/.whl/' .git/info/exclude 2>/dev/null || echo '/.whl/' >> .git/info/exclude
    python3 -m pip download --no-deps --only-binary=:all: --python-version 3.12 \
        --implementation cp --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 \
        --platform manylinux2014_x86_64 -d .whl \
        skorch==1.4.0 imbalanced-learn==0.14.2 sklearn-compat==0.1.6 mlxtend==0.25.0 \
        scikit-learn==1.9.1
    exit 0
fi

PYTHON=${PYTHON:-python3}
DEVICE=${DEVICE:-cuda}
EPOCHS=${EPOCHS:-200}
SEEDS=${SEEDS:-2}
LIMIT=${LIMIT:-500}  # seconds for each group, inside the device tool's 600
OUT=${OUT:-/tmp/gpu_out}
RESULTS=${RESULTS:-benchmarks/results}
mkdir -p "$OUT" "$RESULTS"
if [ -z "${NO_WHEELS:-}" ]; then
    "$PYTHON" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
        --target /tmp/site .whl/*.whl
    export PYTHONPATH=/tmp/site
fi
export PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH} PYTHONUNBUFFERED=1
{
    date -u
    nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true
    "$PYTHON" -c "import torch, sklearn, skorch; print(torch.__version__, \
torch.cuda.is_available(), sklearn.__version__, skorch.__version__)"
} > "$OUT/gpu_machine.txt" 2>&1
cat "$OUT/gpu_machine.txt"

S="backbone='resnet32',image_size=(64,64),batch_size=128,optimizer='sgd',lr=0.1"
S="$S,weight_decay=2e-4,warmup_epochs=5,lr_schedule='cosine'"
pids=()
group() {
    local tag=$1
    shift
    timeout "$LIMIT" "$PYTHON" benchmarks/longtail.py --dataset mnist --device "$DEVICE" \
        --epochs "$EPOCHS" --set "$S" --out "$RESULTS" --tag "$tag" "$@" \
        > "$OUT/$tag.log" 2>&1 &
    pids+=($!)
}
group gpu_a --rho 100 --seeds "$SEEDS" --methods auto ce
group gpu_b --rho 100 --seeds "$SEEDS" --methods crt ldam_drw
group gpu_c --rho 100 --seeds "$SEEDS" --methods balanced_weights class_balanced_sampler
group gpu_d --rho 100 --seeds "$SEEDS" --methods focal vs
group gpu_e --rho 100 --seeds "$SEEDS" --methods mislas weight_balancing
group gpu_f --rho 100 --seeds "$SEEDS" --methods remix sam
group gpu_g --rho 100 --seeds "$SEEDS" --methods unimix
group gpu_ceiling --rho 1 --seeds 1 --methods ce
status=0
for pid in "${pids[@]}"; do
    wait "$pid" || status=1
done
for log in "$OUT"/gpu_*.log; do
    echo "== $log"
    tail -n 25 "$log"
done
tar -czf "$OUT/gpu_results.tar.gz" -C "$RESULTS" $(cd "$RESULTS" &&
    ls gpu_*_longtail.* 2>/dev/null) -C "$OUT" $(cd "$OUT" && ls gpu_*.log gpu_machine.txt)
exit $status
