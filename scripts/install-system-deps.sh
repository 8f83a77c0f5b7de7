#!/usr/bin/env bash
# Installs the Debian packages Ishibashi's tests need and a bare machine may lack.
# Idempotent: installs only what is missing. Needs root (CI runs as root).
set -euo pipefail

need=()
command -v chromium >/dev/null 2>&1 || need+=(chromium)
python3 -c 'import ensurepip, venv' >/dev/null 2>&1 || need+=(python3-venv)
command -v make >/dev/null 2>&1 || need+=(make)
command -v msgfmt >/dev/null 2>&1 || need+=(gettext)
if [ "${1:-}" = "--with-postgres" ] && ! command -v pg_ctlcluster >/dev/null 2>&1; then
  need+=(postgresql)
# The fault suite (make test-faults) runs a private server with Debian's initdb and pg_ctl.
elif ! compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null; then
  need+=(postgresql)
fi
# tests/deploy/ runs deploy/nginx.conf under `nginx -t` and in front of `ishibashi serve`.
[ -x /usr/sbin/nginx ] || command -v nginx >/dev/null 2>&1 || need+=(nginx)
# Japanese glyphs in screenshots and PDFs.
dpkg -s fonts-noto-cjk >/dev/null 2>&1 || need+=(fonts-noto-cjk)

if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "install-system-deps: missing Debian packages: ${need[*]}" >&2
    echo "install-system-deps: run 'sudo make system-deps' once, then try again." >&2
    exit 1
  fi
  echo "install-system-deps: installing ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
