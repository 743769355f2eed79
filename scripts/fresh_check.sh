#!/usr/bin/env bash
# Setup from nothing: builds a minimal Debian 12 root (debootstrap --variant=minbase bookworm),
# copies this checkout into it, and runs scripts/deps.sh and the CMake configure step
# (`cmake --preset default`) inside it with chroot. Fails when a package the build needs is
# missing from deps.sh (issue 10: libqt6opengl6-dev was only a Recommends). CI's .ci/run runs it.
#
#   scripts/fresh_check.sh [-- COMMAND]      as root; needs debootstrap (installed if missing)
#
# COMMAND (default: ./scripts/deps.sh && cmake --preset default) runs in the copy inside the
# root, e.g. `scripts/fresh_check.sh -- ./scripts/test.sh` for the whole README test command.
# The package mirror is the first Debian (not security) mirror of this machine's apt sources
# (/etc/apt/sources.list.d/*.sources URIs:, else /etc/apt/sources.list); CHRONOSCALE_MIRROR
# overrides it. The root lives in a temporary folder under ${TMPDIR:-/var/tmp} and is removed at
# the end unless CHRONOSCALE_FRESH_KEEP=1.
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
command='./scripts/deps.sh && cmake --preset default'
if [[ ${1:-} == -- ]]; then
  shift
  [[ $# -gt 0 ]] && command="$*"
fi

if [[ $(id -u) -ne 0 ]]; then
  echo "fresh_check: needs root (debootstrap and chroot)" >&2
  exit 1
fi

mirror_from_sources() {
  local f uri
  # deb822: the URIs: line of a stanza whose Suites: is bookworm (not -security).
  for f in /etc/apt/sources.list.d/*.sources; do
    [[ -f $f ]] || continue
    uri=$(awk '
      BEGIN { RS = ""; FS = "\n" }
      {
        uris = ""; suites = ""
        for (i = 1; i <= NF; i++) {
          if ($i ~ /^URIs:/) { sub(/^URIs:[ \t]*/, "", $i); uris = $i }
          if ($i ~ /^Suites:/) { sub(/^Suites:[ \t]*/, "", $i); suites = $i }
        }
        if (uris != "" && suites ~ /(^| )bookworm( |$)/) { split(uris, u, " "); print u[1]; exit }
      }' "$f")
    if [[ -n $uri ]]; then
      echo "$uri"
      return
    fi
  done
  # one-line format: deb [options] URI bookworm components
  if [[ -f /etc/apt/sources.list ]]; then
    uri=$(awk '$1 == "deb" {
        for (i = 2; i <= NF; i++) if ($i !~ /^\[/ && $i !~ /\]$/ && $i !~ /=/) break
        if ($(i + 1) == "bookworm") { print $i; exit }
      }' /etc/apt/sources.list)
    [[ -n $uri ]] && echo "$uri"
  fi
}

mirror=${CHRONOSCALE_MIRROR:-$(mirror_from_sources)}
if [[ -z $mirror ]]; then
  echo "fresh_check: no bookworm mirror in /etc/apt/sources.list.d/*.sources or" \
    "/etc/apt/sources.list; set CHRONOSCALE_MIRROR" >&2
  exit 1
fi

if ! command -v debootstrap >/dev/null; then
  DEBIAN_FRONTEND=noninteractive apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends debootstrap
fi

work=$(mktemp -d "${TMPDIR:-/var/tmp}/chronoscale-fresh.XXXXXX")
root=$work/root
cleanup() {
  local m
  for m in dev/pts dev proc; do
    mountpoint -q "$root/$m" 2>/dev/null && umount -l "$root/$m"
  done
  if [[ ${CHRONOSCALE_FRESH_KEEP:-0} == 1 ]]; then
    echo "fresh_check: kept $root"
  else
    rm -rf --one-file-system "$work"
  fi
}
trap cleanup EXIT

t0=$SECONDS
echo "== debootstrap --variant=minbase bookworm ($mirror)"
debootstrap --variant=minbase bookworm "$root" "$mirror" >"$work/debootstrap.log" 2>&1 || {
  tail -20 "$work/debootstrap.log" >&2
  exit 1
}
echo "   $((SECONDS - t0)) s"

# This checkout without its build outputs: tracked files and untracked ones git does not ignore
# (on CI's clean clone, exactly what a plain clone has).
mkdir -p "$root/src/chronoscale"
git -C "$src" ls-files -z --cached --others --exclude-standard |
  tar -C "$src" --null --no-recursion --ignore-failed-read -T - -cf - 2>/dev/null |
  tar -xf - -C "$root/src/chronoscale"
cp /etc/resolv.conf "$root/etc/resolv.conf"
mount -t proc proc "$root/proc"
mount --bind /dev "$root/dev"
mount --bind /dev/pts "$root/dev/pts"

t1=$SECONDS
echo "== in the root: $command"
chroot "$root" /usr/bin/env -i HOME=/root TERM=dumb LANG=C.UTF-8 \
  PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
  /bin/bash -c "cd /src/chronoscale && $command"
echo "   $((SECONDS - t1)) s; fresh_check passed ($((SECONDS - t0)) s in all)"
