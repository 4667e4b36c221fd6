#!/usr/bin/env bash
# Dice reached by a 3D U-Net trained a few epochs on generated white-matter lesions, with its interval.
# Usage: benchmarks/segmentation_lesions.sh WORKDIR [EPOCHS] [ARCHITECTURE]   (CPU; about 5-10 minutes on 2 shared cores)
set -euo pipefail
WORK=${1:?give a working folder}
EPOCHS=${2:-40}
ARCH=${3:-UNet3D}
PY=${PYTHON:-python}
mkdir -p "$WORK" && cd "$WORK"
rm -rf caps maps
$PY -m clinicadl generate lesions caps --n_subjects 40 --lesion_load 2 20 --lesion_radius 3 8 --contrast 0.4 \
    --resolution 4 --seed 0
$PY -m clinicadl tsvtools split caps/data.tsv --subset_name test --n_test 10 --seed 0 --ignore_demographics
$PY -m clinicadl tsvtools split caps/split/train.tsv --subset_name validation --n_test 6 --seed 0 --ignore_demographics
$PY -m clinicadl prepare-data image caps t1-linear --extract_json image.json
$PY -m clinicadl train segmentation caps image.json caps/split/split maps -a "$ARCH" --epochs "$EPOCHS" \
    --no-gpu -np 0 -b 2 -lr 0.002 -sm Dice --seed 0
$PY -m clinicadl predict maps test --participants_tsv caps/split/test_baseline.tsv --no-gpu
$PY -m clinicadl evaluate model maps test
