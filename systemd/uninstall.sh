#!/usr/bin/env bash
# Reverses install.sh. Keeps /etc/emobot (your config and keys) and the user unless --purge.
set -euo pipefail
ROOT=${ROOT:-}
PURGE=no
[ "${1:-}" = "--purge" ] && PURGE=yes
[ "$(id -u)" -eq 0 ] || { echo "uninstall.sh: run as root" >&2; exit 1; }
prefix=(); [ -n "$ROOT" ] && prefix=(--prefix "$ROOT")

if [ -z "$ROOT" ] && [ -d /run/systemd/system ]; then
  systemctl disable --now emobot.service 2>/dev/null || true
fi
rm -f "$ROOT/etc/systemd/system/emobot.service"
[ -z "$ROOT" ] && [ -d /run/systemd/system ] && systemctl daemon-reload
rm -rf "$ROOT/opt/emobot"
if [ "$PURGE" = yes ]; then
  rm -rf "$ROOT/etc/emobot" "$ROOT/var/lib/emobot"
  grep -q '^emobot:' "$ROOT/etc/passwd" && userdel "${prefix[@]}" emobot
  echo "uninstall: removed everything, config and user included"
else
  echo "uninstall: removed; kept /etc/emobot and user emobot (use --purge to remove them)"
fi
