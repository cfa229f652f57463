#!/usr/bin/env bash
# Installs what `npm start` and `npm test` need: Debian packages, node_modules, the compiled daemon.
# Idempotent, and quick when everything is in place: each step checks before it acts.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(
  build-essential python3 pkg-config   # node-gyp builds of opencv4nodejs, speaker, serialport, unix-dgram
  libopencv-dev opencv-data            # camera + face detection (opencv4nodejs builds against it)
  ffmpeg                               # video decoding for the demo video and replay
  gstreamer1.0-plugins-base            # GStreamer camera pipelines (videoconvert, appsink, videotestsrc)
  libasound2-dev alsa-utils sox libsox-fmt-all   # microphone and speaker
  espeak-ng                            # offline voice
  mosquitto mosquitto-clients          # MQTT broker for tests and local use
  gcc-avr avr-libc make                # expression board firmware (firmware/Makefile)
  libsimavr-dev libsimavrparts1 libelf-dev   # the firmware's hardware-in-the-loop test in the simavr simulator
)

missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
done
if ((${#missing[@]})); then
  echo "setup: installing Debian packages: ${missing[*]}"
  if [ "$(id -u)" -eq 0 ]; then sudo=(); elif command -v sudo >/dev/null; then sudo=(sudo); else
    echo "setup: need root for apt-get; run: su -c 'bash scripts/setup.sh'" >&2
    exit 1
  fi
  "${sudo[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# onnxruntime-node's postinstall would download CUDA libraries (offline machines fail; the Pi needs none).
# opencv4nodejs must build against Debian's OpenCV instead of downloading and compiling its own.
export ONNXRUNTIME_NODE_INSTALL=skip OPENCV4NODEJS_DISABLE_AUTOBUILD=1 JOBS=max
stamp=node_modules/.emobot-setup
want="$(sha256sum package-lock.json | cut -d' ' -f1) node-$(node --version)"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "setup: npm ci (first time ~5 min: compiles the OpenCV binding)"
  npm ci --no-audit --no-fund
  echo "$want" > "$stamp"
fi

if [ ! -f dist/.tsbuildinfo ] || [ -n "$(find src tsconfig.json tsconfig.build.json package.json -newer dist/.tsbuildinfo -print -quit)" ]; then
  echo "setup: compiling TypeScript"
  npx tsc -p tsconfig.build.json
fi
