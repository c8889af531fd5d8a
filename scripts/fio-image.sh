#!/usr/bin/env bash
# Builds (once) an ext4 "tools" image holding Debian trixie's riscv64 fio and exactly the shared libraries it
# loads, for benchmarks that mount it read-only in the guest and run fio through chroot. Prints the image's path.
#
#   CACHE/bench/                              CACHE = $AIRLOCK_CACHE, else ~/.cache/airlock
#     apt/{sources.list,lists/,cache/}        private apt state, riscv64 only (as PrivateApt does for the kernel)
#     fio-tools-FIOVERSION-KEY.img            the image; KEY hashes every package name=version it was built from
#     fio-tools-FIOVERSION-KEY.manifest       those packages, and the files the image holds
#
# apt resolves fio's dependency closure and its shared-library packages (Section: libs) are fetched and unpacked
# with dpkg-deb -x (fine for a foreign architecture); readelf then follows DT_NEEDED from /usr/bin/fio to pick the
# files the loader will open. The image is usr-merged (lib -> usr/lib), has the riscv64 loader at its PT_INTERP
# path and every library flat in /usr/lib/riscv64-linux-gnu, plus empty dev/ proc/ sys/ tmp/ to mount over.
# Needs apt-get, apt-cache, dpkg-deb, readelf (binutils) and mke2fs (e2fsprogs; scripts/setup-host.sh).
set -euo pipefail

usage() { echo "usage: scripts/fio-image.sh [--rebuild]   (prints the path of the cached tools image)"; }
rebuild=0
while [ $# -gt 0 ]; do
  case "$1" in
    --rebuild) rebuild=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "fio-image: unknown option $1" >&2; usage >&2; exit 2 ;;
  esac
done
for tool in apt-get apt-cache dpkg-deb readelf mke2fs sha256sum; do
  command -v "$tool" >/dev/null || { echo "fio-image: $tool is not installed (run scripts/setup-host.sh; readelf is in binutils)" >&2; exit 1; }
done

cache="${AIRLOCK_CACHE:-$HOME/.cache/airlock}"
bench="$cache/bench"
apt_dir="$bench/apt"
mkdir -p "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial"
exec 9>"$bench/.lock"
flock 9 # two benchmarks starting at once build the image once

# --- private apt: the archive the guest kernel came from ------------------------------------------------------
guest_apt="$cache/debian/apt"
if [ ! -f "$apt_dir/sources.list" ]; then
  if [ -f "$guest_apt/sources.list" ]; then
    cp "$guest_apt/sources.list" "$apt_dir/sources.list"
  else
    uri="${AIRLOCK_DEBIAN_URI:-http://deb.debian.org/debian}"
    echo "deb [arch=riscv64 signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $uri trixie main" >"$apt_dir/sources.list"
  fi
fi
apt_opts=(-o "Dir::Etc::SourceList=$apt_dir/sources.list" -o Dir::Etc::SourceParts=/dev/null
  -o Dir::Etc::Preferences=/dev/null -o Dir::Etc::PreferencesParts=/dev/null
  -o "Dir::State::Lists=$apt_dir/lists" -o Dir::State::status=/dev/null -o "Dir::Cache=$apt_dir/cache"
  -o APT::Architecture=riscv64 -o APT::Architectures=riscv64 -o APT::Sandbox::User=root)
have_index() { compgen -G "$apt_dir/lists/*_binary-riscv64_Packages*" >/dev/null; }
if ! have_index || [ "$rebuild" = 1 ]; then
  echo "fio-image: updating Debian trixie riscv64 package lists…" >&2
  if ! out="$(apt-get "${apt_opts[@]}" -q update --error-on=any 2>&1)"; then
    # A mirror caught mid-sync serves a Release that does not match its Packages; the guest assets' own lists
    # were verified against Debian's key when they were fetched, so they are a sound (if older) fallback.
    if compgen -G "$guest_apt/lists/*_binary-riscv64_Packages*" >/dev/null; then
      echo "fio-image: apt-get update failed ($(grep -m1 '^E:' <<<"$out" || tail -1 <<<"$out"));" \
           "using the package lists of the guest assets in $guest_apt/lists" >&2
      cp -p "$guest_apt"/lists/*_InRelease "$guest_apt"/lists/*_binary-riscv64_Packages* "$apt_dir/lists/"
    else
      echo "fio-image: apt-get update failed:" >&2; echo "$out" >&2; exit 1
    fi
  fi
fi

# --- resolve: fio and the shared-library packages (Section: libs) of its closure, at exact versions ---------------
mapfile -t names < <(apt-cache "${apt_opts[@]}" depends --recurse --no-recommends --no-suggests --no-conflicts \
  --no-breaks --no-replaces --no-enhances fio | grep -E '^[a-z0-9][a-z0-9.+-]*$' | sort -u)
[ "${#names[@]}" -gt 0 ] && [ -n "${names[0]}" ] || { echo "fio-image: the package index has no fio" >&2; exit 1; }
pins="$(apt-cache "${apt_opts[@]}" show --no-all-versions "${names[@]}" | awk '
  /^Package: /{p=$2} /^Version: /{v=$2} /^Section: /{s=$2}
  /^$/{if (p == "fio" || s == "libs") print p "=" v; p=v=s=""}
  END{if (p == "fio" || s == "libs") print p "=" v}' | sort -u)"
fio_version="$(sed -n 's/^fio=//p' <<<"$pins")"
[ -n "$fio_version" ] || { echo "fio-image: cannot find fio's version in the package index" >&2; exit 1; }
# "format N": bump N when this script changes what goes into the image, so cached images are rebuilt.
key="$(sha256sum <<<"format 1"$'\n'"$pins" | cut -c1-12)"
image="$bench/fio-tools-${fio_version//[:~]/_}-$key.img"
manifest="${image%.img}.manifest"
if [ -f "$image" ] && [ -f "$manifest" ] && [ "$rebuild" = 0 ]; then
  echo "$image"; exit 0
fi

# --- download and unpack ---------------------------------------------------------------------------------------
work="$(mktemp -d "$bench/tmp-fio-image.XXXXXX")"
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/debs" "$work/all" "$work/root"
echo "fio-image: downloading fio $fio_version and $(( $(wc -l <<<"$pins") - 1 )) library packages (riscv64)…" >&2
mapfile -t pin_list <<<"$pins"
(cd "$work/debs" && apt-get "${apt_opts[@]}" -q download "${pin_list[@]}" >"$work/download.log" 2>&1) \
  || { echo "fio-image: apt-get download failed:" >&2; tail -5 "$work/download.log" >&2; exit 1; }
for deb in "$work"/debs/*.deb; do dpkg-deb -x "$deb" "$work/all"; done

# --- the files fio needs: its loader and the DT_NEEDED closure ---------------------------------------------------
all="$work/all"
# A path inside the unpacked tree, with symlinks followed inside it (absolute targets are relative to the tree)
# and /lib, /bin read as /usr/lib, /usr/bin: packages are usr-merged, the paths baked into binaries are not.
resolve() {
  local p n=0 t
  p="$(realpath -m -s "$1")" # tidy ./ and ../ without touching the host's file system
  while [ "$n" -lt 20 ]; do
    [[ ! -e "$all$p" && ! -L "$all$p" && "$p" =~ ^/(lib|bin|sbin)/ ]] && p="/usr$p"
    [ -L "$all$p" ] || break
    t="$(readlink "$all$p")"
    if [[ "$t" == /* ]]; then p="$t"; else p="$(dirname "$p")/$t"; fi
    p="$(realpath -m -s "$p")"
    n=$((n + 1))
  done
  echo "$p"
}
find_lib() { # soname -> path in the tree, searching the places Debian's riscv64 loader and packages use
  local d
  for d in /usr/lib/riscv64-linux-gnu /lib/riscv64-linux-gnu /usr/lib /lib /usr/lib/riscv64-linux-gnu/ceph; do
    [ -e "$all$d/$1" ] && { echo "$d/$1"; return 0; }
  done
  find "$all" -name "$1" \( -type f -o -type l \) -printf '/%P\n' -quit | grep . # anywhere else (RUNPATH dirs)
}
fio_bin=/usr/bin/fio
[ -f "$all$fio_bin" ] || { echo "fio-image: the fio package has no $fio_bin" >&2; exit 1; }
interp="$(readelf -lW "$all$fio_bin" | sed -n 's/.*Requesting program interpreter: \(.*\)]/\1/p')"
[ -n "$interp" ] || { echo "fio-image: $fio_bin names no program interpreter" >&2; exit 1; }
declare -A seen=()
queue=("$fio_bin") libs=()
while [ "${#queue[@]}" -gt 0 ]; do
  f="${queue[0]}"; queue=("${queue[@]:1}")
  for so in $(readelf -dW "$all$(resolve "$f")" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'); do
    [ -n "${seen[$so]:-}" ] && continue
    seen[$so]=1
    path="$(find_lib "$so")" || { echo "fio-image: no package in fio's closure provides $so (needed by $f)" >&2; exit 1; }
    libs+=("$so=$(resolve "$path")")
    queue+=("$path")
  done
done

root="$work/root"
mkdir -p "$root/usr/bin" "$root/usr/lib/riscv64-linux-gnu" "$root/dev" "$root/proc" "$root/sys" "$root/tmp" "$root/etc"
ln -s usr/bin "$root/bin"; ln -s usr/lib "$root/lib"
chmod 1777 "$root/tmp"
cp "$all$(resolve "$fio_bin")" "$root/usr/bin/fio"
interp_in_root="$interp"; [[ "$interp" == /lib/* ]] && interp_in_root="/usr$interp" # lib is a symlink to usr/lib
mkdir -p "$root$(dirname "$interp_in_root")"
cp "$all$(resolve "$interp")" "$root$interp_in_root"
for entry in "${libs[@]}"; do
  so="${entry%%=*}" src="${entry#*=}"
  [ -e "$root/usr/lib/riscv64-linux-gnu/$so" ] || cp "$all$src" "$root/usr/lib/riscv64-linux-gnu/$so"
done
# Debian's ld.so searches /usr/lib/riscv64-linux-gnu without an ld.so.cache; the conf only documents it.
echo /usr/lib/riscv64-linux-gnu >"$root/etc/ld.so.conf"
printf 'root:x:0:0:root:/:/bin/sh\n' >"$root/etc/passwd"
printf 'root:x:0:\n' >"$root/etc/group"

# --- the image -----------------------------------------------------------------------------------------------
content_kib="$(du -sk "$root" | cut -f1)"
size_mib=$(( content_kib * 13 / 10 / 1024 + 8 ))
tmp_image="$work/tools.img"
mke2fs -q -t ext4 -L airlock-tools -E root_owner=0:0 -d "$root" "$tmp_image" "${size_mib}M" >&2 \
  || { echo "fio-image: mke2fs -d failed (e2fsprogs 1.43 or newer is needed)" >&2; exit 1; }
{
  echo "# fio tools image built by scripts/fio-image.sh on $(date -u +%FT%TZ)"
  echo "interpreter $interp"
  echo "$pins" | sed 's/^/package /'
  (cd "$root" && find . -type f -printf 'file /%P %s\n' | sort)
} >"$work/manifest"
mv "$work/manifest" "$manifest"
mv "$tmp_image" "$image"
echo "fio-image: built $image ($size_mib MiB: fio $fio_version and ${#libs[@]} libraries)" >&2
echo "$image"
