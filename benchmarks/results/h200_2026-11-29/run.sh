#!/bin/bash
# One H200 session: (1) train-step throughput of every config in bfloat16 while FER2013 is
# packed on the CPUs, (2) two FER2013 VGG recipes trained side by side, the one with the
# better PublicTest accuracy chosen (rule fixed here, before any result), its test-time
# views measured, its bundle written. Every stage is bounded and independent.
set -u
export PYTHONUNBUFFERED=1
T0=$(date +%s)
el() { echo "[t+$(( $(date +%s) - T0 ))s] $*"; }
LOG=$OUT/log.txt
exec > >(tee -a "$LOG") 2>&1

PY=${PY:-python3}
el "install"
[ -n "${SKIP_INSTALL:-}" ] || python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
  --target /tmp/site .gpu/whl/*.whl || exit 1
export PYTHONPATH=/tmp/site:$PWD/.gpu/stubs:$PWD
nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.max.sm --format=csv
nproc; free -g | head -2
python3 -m pip list 2>/dev/null | grep -i -E "^(jax|jaxlib|flax|optax|orbax-checkpoint|numpy|etils|protobuf|opencv-python-headless|chex|ml_dtypes) "
$PY -c "import jax; print(jax.__version__, jax.devices())" || exit 1

el "build FER2013 (background) + throughput"
($PY -m tfds_cremad.build --config fer2013 --data_dir data/tfds --manual_dir .gpu/fer2013 \
   > /tmp/build.txt 2>&1; echo "build exit $?" >> /tmp/build.txt) &
BUILD=$!
wait $BUILD; tail -4 /tmp/build.txt

el "FER2013 training: two recipes side by side"
EPOCHS=${EPOCHS:-60}
COMMON="--config=configs/fer2013_vgg.py --config.model.dtype=bfloat16 --config.wandb.mode=disabled --config.train.num_epochs=$EPOCHS --config.data.worker_count=6 ${EXTRA:-}"
export XLA_PYTHON_CLIENT_MEM_FRACTION=0.3
timeout -s TERM ${TRAIN_S:-240} $PY -m emo_jax.train $COMMON --workdir=/tmp/w/wd05 \
  --config.optimizer.weight_decay=0.05 > /tmp/wd05.txt 2>&1 &
A=$!
timeout -s TERM ${TRAIN_S:-240} $PY -m emo_jax.train $COMMON --workdir=/tmp/w/wd0005 \
  --config.optimizer.weight_decay=0.0005 > /tmp/wd0005.txt 2>&1 &
B=$!
wait $A; echo "wd05 exit $?"; wait $B; echo "wd0005 exit $?"
for f in /tmp/wd05.txt /tmp/wd0005.txt; do echo "== $f"; grep -E "Training|val:|Test|step [0-9]+/" $f | cut -c1-160 | sed -n '1,3p;$p'; grep -E "val:" $f | cut -c1-120 | tail -n 4; done
el "trained"

# The choice: the better PublicTest (val) accuracy of the selected checkpoints.
CHOSEN=$($PY - <<'EOF'
import json, os
best = None
for name in ("wd05", "wd0005"):
  path = f"/tmp/w/{name}/final_metrics.json"
  if os.path.isfile(path):
    m = json.load(open(path))
    print(name, "val", m.get("val_accuracy"), "steps", m.get("steps"), "interrupted", m.get("interrupted"),
          file=__import__("sys").stderr)
    if best is None or m.get("val_accuracy", 0) > best[1]:
      best = (name, m.get("val_accuracy", 0))
print(best[0] if best else "")
EOF
)
echo "chosen: $CHOSEN"
$PY - > $OUT/fer_runs.json <<'EOF'
import json, os
out = {}
for name in ("wd05", "wd0005"):
  path = f"/tmp/w/{name}/final_metrics.json"
  out[name] = json.load(open(path)) if os.path.isfile(path) else None
print(json.dumps(out, indent=1))
EOF
if [ -n "$CHOSEN" ]; then
  cp /tmp/w/$CHOSEN/metrics.jsonl $OUT/metrics.jsonl
  el "views"
  timeout 60 $PY -m experiments.fer2013_views --workdir /tmp/w/$CHOSEN --data_dir data/tfds \
    --out $OUT/fer_views.json 2>&1 | grep -v -E "^(I|W)[0-9]{4}" | tail -40
  el "bundle"
  timeout 40 $PY -m emo_jax.bundle --workdir /tmp/w/$CHOSEN --name fer2013_vgg --out /tmp/b/fer2013_vgg 2>&1 | tail -3
  mkdir -p $OUT/bundle && cp /tmp/b/fer2013_vgg/* $OUT/bundle/
fi
el "throughput"
timeout ${TP_S:-120} $PY -m benchmarks.train_throughput --gpu --timeout_s 40 ${TP_ARGS:---configs fer2013_vgg,ae_lstm,c3d,cnn_lstm,attention,resnet_ae_lstm,fer2013_cnn} \
  > $OUT/throughput.jsonl 2> /tmp/throughput.err
echo "throughput exit $?"; cat $OUT/throughput.jsonl; tail -3 /tmp/throughput.err
ls -la $OUT $OUT/bundle
el "done"
