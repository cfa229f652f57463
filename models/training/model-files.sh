# Sourced by build-model.sh and evaluate-model.sh (from the repository root): the data they read,
# the interpreter, and the committed model files they write and measure.
data=${DATA:-../shared/data/fer2013}
py=/usr/bin/python3   # Debian's python3-torch / python3-onnx, not a pyenv interpreter without them
fp32=models/emotion-mobilenetv2-fp32.onnx
int8=models/emotion-mobilenetv2-int8.onnx
card=models/emotion-mobilenetv2.json
