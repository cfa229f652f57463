# Sourced by build-model.sh, evaluate-model.sh and int8-across-cpus.sh (from the repository root): the data they read,
# the interpreter, and the committed model files they write and measure.
data=${DATA:-../shared/data/fer2013}
py=/usr/bin/python3   # Debian's python3-torch / python3-onnx, not a pyenv interpreter without them
fp32=models/emotion-mobilenetv2-fp32.onnx
int8=models/emotion-mobilenetv2-int8.onnx
card=models/emotion-mobilenetv2.json
# The CPU figures were measured on and the flags that decide onnxruntime's int8 kernels (ARM boards
# have no "model name" line).
cpu_description() {
  local name flags
  name=$(grep -m1 -E '^(model name|Model)' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//' || true)
  flags=$(grep -o -w -E 'avx2|avx512_vnni|avx_vnni|asimddp|i8mm' /proc/cpuinfo | sort -u | tr '\n' ' ' | sed 's/ $//' || true)
  echo "${name:-$(uname -m)} (int8 flags: ${flags:-none})"
}
