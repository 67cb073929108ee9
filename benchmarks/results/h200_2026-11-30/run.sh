#!/bin/bash
# One H200 session (2026-11-30): the full-length `configs/fer2013_vgg.py` run in bfloat16.
#   1. FER2013 packed from the Kaggle archive.
#   2. A calibration run of 800 steps measures the train loop's steps per second on this
#      machine (14 grain workers); the number of epochs is set from it so the whole cosine
#      schedule ends inside TRAIN_S seconds (at most the config's 80): a run stopped
#      half-way never anneals (epochs_for_budget.py).
#   3. One run, seed 0, everything else as the config. The checkpoint is chosen on
#      PublicTest by the trainer, the test-time augmentation on PublicTest by
#      experiments.fer2013_views; PrivateTest is read once, there.
#   4. The run bundled (float32) as `fer2013_vgg`, then train-step throughput of the
#      configs not measured on 2026-11-29, for what time is left.
# The rule for what it replaces is in rule.md beside this file, committed before the run.
set -u
export PYTHONUNBUFFERED=1
T0=$(date +%s)
el() { echo "[t+$(( $(date +%s) - T0 ))s] $*"; }
LOG=$OUT/log.txt
exec > >(tee -a "$LOG") 2>&1
TRAIN_S=${TRAIN_S:-280}
WORKERS=${WORKERS:-14}

el "install"
if [ -z "${SKIP_INSTALL:-}" ]; then  # SKIP_INSTALL=1: a local dry run in the venv.
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
    --target /tmp/site .gpu/whl/*.whl || exit 1
  export PYTHONPATH=/tmp/site:$PWD/.gpu/stubs:$PWD
fi
PY=${PY:-python3}
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv
nproc; free -g | head -2
$PY -m pip list 2>/dev/null | grep -i -E "^(jax|jaxlib|flax|optax|orbax-checkpoint|numpy|grain|opencv-python-headless) "
$PY -c "import jax; print(jax.__version__, jax.devices())" || exit 1

el "build FER2013"
$PY -m tfds_cremad.build --config fer2013 --data_dir data/tfds --manual_dir .gpu/fer2013 2>&1 | tail -4

el "calibration: 800 steps with $WORKERS workers"
timeout 150 $PY -m emo_jax.train --config=configs/fer2013_vgg.py --workdir=/tmp/w/calibration \
  --config.model.dtype=bfloat16 --config.wandb.mode=disabled --config.train.num_steps=${CALIB_STEPS:-800} \
  --config.data.worker_count=$WORKERS ${EXTRA_CALIB:-} > /tmp/calibration.txt 2>&1
echo "calibration exit $?"; grep -E "steps/s|Traceback|Error" /tmp/calibration.txt | cut -c1-200 | tail -8
EPOCHS=$($PY benchmarks/results/h200_2026-11-30/epochs_for_budget.py /tmp/w/calibration "$TRAIN_S")
[ -n "$EPOCHS" ] || { tail -30 /tmp/calibration.txt; EPOCHS=30; }  # No rate: a safe guess.
echo "epochs: $EPOCHS"

el "train fer2013_vgg, $EPOCHS epochs"
timeout -s TERM $(( TRAIN_S + 90 )) $PY -m emo_jax.train --config=configs/fer2013_vgg.py \
  --workdir=/tmp/w/vgg --config.model.dtype=bfloat16 --config.wandb.mode=disabled \
  --config.train.num_epochs=$EPOCHS --config.data.worker_count=$WORKERS \
  --config.train.checkpoint_every_epochs=8 ${EXTRA:-} 2>&1 | grep -v -E "orbax|CheckpointManager|read_only"
echo "train exit ${PIPESTATUS[0]}"
el "trained"
cp /tmp/w/vgg/metrics.jsonl /tmp/w/vgg/final_metrics.json $OUT/ 2>/dev/null

el "views"
timeout 100 $PY -m experiments.fer2013_views --workdir /tmp/w/vgg --data_dir data/tfds \
  --out $OUT/fer_views.json 2>&1 | grep -v -E "^(I|W)[0-9]{4}|^WARNING:absl"
el "bundle"
mkdir -p $OUT/bundle
timeout 60 $PY -m emo_jax.bundle --workdir /tmp/w/vgg --name fer2013_vgg --out $OUT/bundle \
  --card_notes docs/model_cards/fer2013_vgg.md 2>&1 | tail -3
ls -la $OUT $OUT/bundle

LEFT=$(( ${END_S:-530} - ($(date +%s) - T0) ))
el "throughput, ${LEFT}s left"
if [ $LEFT -gt 45 ]; then
  timeout $LEFT $PY -m benchmarks.train_throughput --gpu --timeout_s 40 \
    --configs cnn_lstm,attention,resnet_ae_lstm,fer2013_cnn,fer2013_vgg > $OUT/throughput.jsonl 2> /tmp/throughput.err
  echo "throughput exit $?"; cat $OUT/throughput.jsonl; tail -3 /tmp/throughput.err
fi
el "done"
