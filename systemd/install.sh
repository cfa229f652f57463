#!/usr/bin/env bash
# Installs EmoBot as a systemd service: /opt/emobot, user "emobot", /etc/emobot/{config.yaml,secrets.env},
# and the enabled unit. Run from a checkout as root: sudo bash systemd/install.sh [--start]
# ROOT=/some/dir installs into a staging tree instead of / (used by the tests and image builders).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=${ROOT:-}
START=no
[ "${1:-}" = "--start" ] && START=yes
[ "$(id -u)" -eq 0 ] || { echo "install.sh: run as root (sudo bash systemd/install.sh)" >&2; exit 1; }

if [ -z "$ROOT" ]; then bash scripts/setup.sh; fi
[ -f dist/cli/main.js ] || { echo "install.sh: dist/ missing; run bash scripts/setup.sh first" >&2; exit 1; }

app="$ROOT/opt/emobot" etc="$ROOT/etc/emobot" unit_dir="$ROOT/etc/systemd/system"
prefix=(); [ -n "$ROOT" ] && prefix=(--prefix "$ROOT")

echo "install: user and groups"
for group in video audio dialout gpio i2c; do
  getent group "$group" >/dev/null 2>&1 && [ -z "$ROOT" ] && continue
  grep -q "^$group:" "$ROOT/etc/group" || groupadd "${prefix[@]}" --system "$group"
done
if ! grep -q '^emobot:' "$ROOT/etc/passwd"; then
  useradd "${prefix[@]}" --system --user-group --no-create-home --home-dir /var/lib/emobot --shell /usr/sbin/nologin \
    --groups video,audio,dialout,gpio,i2c emobot
fi

echo "install: application in /opt/emobot"
mkdir -p "$app"
# A fresh copy each time, so files removed upstream do not linger.
rm -rf "${app:?}"/{dist,models,assets,hardware,calibration,firmware,systemd,scripts}
cp -a package.json package-lock.json README.md config.example.yaml dist models assets hardware calibration firmware systemd scripts "$app/"
# The test doubles (fake cloud, local broker, fake microphone) are for tests, the bench and the soak
# run in a checkout; the robot does not get them.
rm -rf "$app/dist/dev" "$app/dist/.tsbuildinfo"
# node_modules (~700 MB with compiled addons; slow on an SD card) is only copied when the lock file changed.
modules_stamp="$(sha256sum package-lock.json | cut -d' ' -f1) node-$(node --version)"
if [ "$(cat "$app/.modules-installed" 2>/dev/null)" != "$modules_stamp" ]; then
  rm -rf "$app/node_modules"
  cp -a node_modules "$app/"
  (cd "$app" && npm prune --omit=dev --no-audit --no-fund >/dev/null)
  echo "$modules_stamp" > "$app/.modules-installed"
fi
chown -R root:root "$app"

echo "install: /etc/emobot"
# root's, the config readable by the daemon's group and nothing writable by it: a compromised daemon
# cannot rewrite its own config or secrets (e.g. NODE_OPTIONS) for its next start. Remote changes go
# to /var/lib/emobot. The secrets are root's alone: systemd reads them for the daemon.
owner=(-o root -g emobot)
[ -n "$ROOT" ] && owner=()
install -d -m 0750 "${owner[@]}" "$etc"
[ -f "$etc/config.yaml" ] || install -m 0640 "${owner[@]}" config.example.yaml "$etc/config.yaml"
if [ ! -f "$etc/secrets.env" ]; then
  install -m 0600 /dev/null "$etc/secrets.env"
  cat > "$etc/secrets.env" <<'SECRETS'
# Read by systemd (EnvironmentFile), never logged. Leave a key empty for offline operation.
OPENAI_API_KEY=
ELEVENLABS_API_KEY=
EMOBOT_MQTT_PASSWORD=
# Needed to open the web page to the network (web.host); at least 16 characters: openssl rand -hex 16
EMOBOT_WEB_TOKEN=
SECRETS
fi
# Earlier versions left the folder group-writable for the daemon: take that back on upgrade.
chmod 0750 "$etc"
chmod 0640 "$etc/config.yaml"
chmod 0600 "$etc/secrets.env"
if [ -z "$ROOT" ]; then chown root:emobot "$etc" "$etc/config.yaml" && chown root:root "$etc/secrets.env"; fi

echo "install: systemd unit"
install -D -m 0644 systemd/emobot.service "$unit_dir/emobot.service"
if [ -z "$ROOT" ] && [ -d /run/systemd/system ]; then
  systemctl daemon-reload
  systemctl enable emobot.service
  [ "$START" = yes ] && systemctl restart emobot.service
  echo "install: done. Edit /etc/emobot/config.yaml and /etc/emobot/secrets.env, then: systemctl restart emobot"
else
  echo "install: files in place (systemd not running here, unit not enabled)"
fi
