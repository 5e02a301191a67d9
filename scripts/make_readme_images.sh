#!/bin/sh
# Regenerates the pictures under docs/images/ that README.md's "Seeing convolution" shows, with
# the fovea command line only.
#
#   scripts/make_readme_images.sh [MODEL]
#
# MODEL is a seed CNN saved by `fovea train` (default: seed-cnn.safetensors, what the README's
# first command writes); it is trained first (`fovea train`, about two minutes) if missing.
set -eu
cd "$(dirname "$0")/.."
MODEL=${1:-seed-cnn.safetensors}
OUT=docs/images
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

swift build -c release --product fovea
FOVEA=$(swift build -c release --show-bin-path)/fovea
[ -f "$MODEL" ] || "$FOVEA" train --output "$MODEL"
mkdir -p "$OUT"

# The sources: MNIST test digit 0 (a 7) and the synthetic test pattern.
"$FOVEA" example-image digit --index 0 --out "$WORK/digit.png"
"$FOVEA" example-image pattern --size 128 --out "$WORK/pattern.png"

# Every named kernel side by side (min-max scaled for display).
"$FOVEA" filter "$WORK/pattern.png" --sheet --out "$WORK/pattern-filters"
"$FOVEA" filter "$WORK/digit.png" --sheet --out "$WORK/digit-filters"
cp "$WORK/pattern-filters/pattern-sheet.png" "$OUT/filters-pattern.png"
cp "$WORK/digit-filters/digit-sheet.png" "$OUT/filters-digit.png"

# 2×2 pooling: max, average and min.
"$FOVEA" pool "$WORK/pattern.png" --size 2 --mode max --mode average --mode min --sheet --out "$WORK/pool"
"$FOVEA" pool "$WORK/digit.png" --size 2 --mode max --mode average --mode min --sheet --out "$WORK/pool"
cp "$WORK/pool/pattern-pool-sheet.png" "$OUT/pooling-pattern.png"
cp "$WORK/pool/digit-pool-sheet.png" "$OUT/pooling-digit.png"

# The trained seed CNN's feature maps for the digit: the first two convolutions.
"$FOVEA" activations --model "$MODEL" --image "$WORK/digit.png" --out "$WORK/activations"
cp "$WORK/activations/01-conv2d.png" "$OUT/feature-maps-conv2d.png"
cp "$WORK/activations/03-conv2d_1.png" "$OUT/feature-maps-conv2d_1.png"

# A convolution's wiring beside a dense layer's.
"$FOVEA" connectivity --out "$OUT/connectivity.svg"

ls -l "$OUT"
