#!/usr/bin/env bash
# Installs what `npm start` and `npm test` need: Debian packages, node_modules, the compiled daemon.
# Idempotent, and quick when everything is in place: each step checks before it acts. Each step that
# acts says what it does, how long it usually takes, and how long it took; a long one says every 30 s
# that it is still going, so a first run on a Raspberry Pi never looks hung.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(
  build-essential python3 pkg-config   # node-gyp builds of opencv4nodejs, speaker, serialport, unix-dgram
  libopencv-dev opencv-data            # camera + face detection (opencv4nodejs builds against it)
  ffmpeg                               # video decoding for the demo video and replay
  gstreamer1.0-plugins-base            # GStreamer camera pipelines (videoconvert, appsink, videotestsrc)
  libasound2-dev alsa-utils sox libsox-fmt-all   # microphone and speaker
  espeak-ng                            # offline voice
  pocketsphinx pocketsphinx-en-us      # spoken commands, recognised on the robot
  mosquitto mosquitto-clients          # MQTT broker for tests and local use
  gcc-avr avr-libc make                # expression board firmware (firmware/Makefile)
  libsimavr-dev libsimavrparts1 libelf-dev   # the firmware's hardware-in-the-loop test in the simavr simulator
  chromium fonts-dejavu-core           # the web page's tests run in a real headless browser
)
# INT8's agreement test also runs on an emulated x86 without VNNI, whose int8 kernels differ.
if [ "$(uname -m)" = x86_64 ]; then APT_PACKAGES+=(qemu-user); fi

elapsed() { printf '%dm%02ds' $(( $1 / 60 )) $(( $1 % 60 )); }

# Runs "$@" as the step described by $1 (what it does and its usual duration), with a line every 30 s
# while it runs and its duration at the end.
step() {
  local what=$1 name=${1%% (*} started=$SECONDS beat rc=0
  shift
  echo "setup: $what"
  # The heartbeat ends with this script too (kill -0 $$), even when Ctrl-C or SIGTERM ends it mid-step.
  ( while sleep 30 >/dev/null 2>&1 && kill -0 $$ 2>/dev/null; do echo "setup: ... still $name ($(elapsed $(( SECONDS - started ))) so far)"; done ) &
  beat=$!
  "$@" || rc=$?
  kill "$beat" 2>/dev/null || true
  wait "$beat" 2>/dev/null || true
  if [ "$rc" -ne 0 ]; then echo "setup: $name failed after $(elapsed $(( SECONDS - started ))) (status $rc)" >&2; exit "$rc"; fi
  echo "setup: $name done in $(elapsed $(( SECONDS - started )))"
}

missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
done
if ((${#missing[@]})); then
  if [ "$(id -u)" -eq 0 ]; then sudo=(); elif command -v sudo >/dev/null; then sudo=(sudo); else
    echo "setup: need root for apt-get; run: su -c 'bash scripts/setup.sh'" >&2
    exit 1
  fi
  apt_install() {
    "${sudo[@]}" apt-get update -qq &&
      DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
  }
  step "installing ${#missing[@]} Debian packages (first time: about 1-3 min on a 2-core x86, longer on a Pi): ${missing[*]}" apt_install
fi

# onnxruntime-node's postinstall would download CUDA libraries (offline machines fail; the Pi needs none):
# skipped unless the owner asks for them (ONNXRUNTIME_NODE_INSTALL=cuda12; README, "Execution
# providers"). opencv4nodejs must build against Debian's OpenCV instead of downloading and compiling its own.
: "${ONNXRUNTIME_NODE_INSTALL:=skip}"
export ONNXRUNTIME_NODE_INSTALL OPENCV4NODEJS_DISABLE_AUTOBUILD=1 JOBS=max
stamp=node_modules/.emobot-setup
want="$(sha256sum package-lock.json | cut -d' ' -f1) node-$(node --version) onnxruntime-node-install-$ONNXRUNTIME_NODE_INSTALL"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  step "npm ci (first time: about 5 min on a 2-core x86, most of it compiling the OpenCV binding; much longer on a Pi)" \
    npm ci --no-audit --no-fund
  echo "$want" > "$stamp"
fi

if [ ! -f dist/.tsbuildinfo ] || [ -n "$(find src tsconfig.json tsconfig.build.json package.json -newer dist/.tsbuildinfo -print -quit)" ]; then
  step "compiling TypeScript (about 15 s)" npx tsc -p tsconfig.build.json
fi
