#!/usr/bin/env bash
# Builds the Debian package and proves what ships: the unit's systemd-analyze rating (at most 2.0),
# the sandbox against a traced real run (deploy/check-sandbox.sh), the package installed into a
# clean Debian 12 root made with debootstrap (version, check-config of the default config, a short
# serve with backup and doctor, an upgrade keeps an edited conffile, remove keeps it, purge removes
# it and the data), and the Containerfile's runtime stage (deploy/container/setup-runtime.sh) run
# in another clean root with the server as its unprivileged user. Needs root (debootstrap, chroot, namespaces) and the Debian
# mirror (SUNKEEP_DEBIAN_MIRROR, default http://deb.debian.org/debian).
set -euo pipefail
cd "$(dirname "$0")/.."
fail() { echo "package-test: $*"; exit 1; }
bash scripts/install-deps.sh --package-test
cmake --preset package >/dev/null
cmake --build --preset package
rm -f build/package/sunkeep_*.deb
cpack --preset deb >/dev/null
debs=(build/package/sunkeep_*_"$(dpkg --print-architecture)".deb)
deb=${debs[0]}
[ -f "$deb" ] || fail "no sunkeep_<version>_<arch>.deb"
echo "package-test: built $deb"
dpkg-deb --info "$deb" | sed -n 's/^ \(Depends\|Version\|Architecture\):/  \1:/p'

unit=build/package/deploy/sunkeep.service
systemd-analyze security --offline=true --threshold=20 "$unit" | tail -1
echo "package-test: the unit rates at most 2.0"
bash deploy/check-sandbox.sh build/package/app/sunkeep "$unit"

work=build/package/roots
pristine=$work/pristine
if [ ! -x "$pristine/usr/bin/apt-get" ]; then
  rm -rf "$pristine"
  mkdir -p "$work"
  debootstrap --variant=minbase bookworm "$pristine" "${SUNKEEP_DEBIAN_MIRROR:-http://deb.debian.org/debian}" >"$work/debootstrap.log" 2>&1 ||
    { tail -20 "$work/debootstrap.log"; exit 1; }
fi
fresh_root() {
  rm -rf "$1"
  cp -a "$pristine" "$1"
  cp /etc/resolv.conf "$1/etc/resolv.conf"
  cp "$deb" "$1/tmp/"
}
in_root() { local root=$1; shift; chroot "$root" "$@"; }
served() { unshare --net --mount --fork bash deploy/chroot-serve.sh "$@"; }

# The package in a clean root, as an owner installs it.
root=$work/package
fresh_root "$root"
in_root "$root" apt-get update -qq
DEBIAN_FRONTEND=noninteractive in_root "$root" apt-get install -y -qq --no-install-recommends -o Dpkg::Use-Pty=0 "/tmp/$(basename "$deb")" >/dev/null
in_root "$root" sunkeep --version
in_root "$root" sunkeep check-config /etc/sunkeep/sunkeep.toml
grep -qx /etc/sunkeep/sunkeep.toml "$root/var/lib/dpkg/info/sunkeep.conffiles" || fail "the config is no conffile"
for file in /usr/lib/systemd/system/sunkeep.service /usr/share/doc/sunkeep/redirect.md; do
  [ -f "$root$file" ] || fail "$file is missing"
done
systemd-analyze security --offline=true --threshold=20 "$root/usr/lib/systemd/system/sunkeep.service" >/dev/null
served "$root" 0:0 /etc/sunkeep/sunkeep.toml

# An upgrade keeps the owner's edit of the config: the same package, one version newer.
newer=$work/newer
rm -rf "$newer"
dpkg-deb -R "$deb" "$newer"
sed -i 's/^Version: .*/&+newer/' "$newer/DEBIAN/control"
dpkg-deb -b "$newer" "$root/tmp/sunkeep_newer.deb" >/dev/null
echo '# edited by the owner' >>"$root/etc/sunkeep/sunkeep.toml"
DEBIAN_FRONTEND=noninteractive in_root "$root" apt-get install -y -qq --no-install-recommends -o Dpkg::Use-Pty=0 /tmp/sunkeep_newer.deb >/dev/null
[[ $(in_root "$root" dpkg-query -W -f='${Version}' sunkeep) == *+newer ]] || fail "the newer package did not install"
grep -qx '# edited by the owner' "$root/etc/sunkeep/sunkeep.toml" || fail "an upgrade lost the owner's edit of the config"
[ -f "$root/var/lib/sunkeep/sunkeep.db" ] || fail "an upgrade lost the database"
echo "package-test: an upgrade kept the edited config and the data"

in_root "$root" dpkg --remove sunkeep >/dev/null
if [ -e "$root/usr/bin/sunkeep" ] || [ ! -f "$root/etc/sunkeep/sunkeep.toml" ] || [ ! -f "$root/var/lib/sunkeep/sunkeep.db" ]; then
  fail "remove must take the program and keep the config and data"
fi
in_root "$root" dpkg --purge sunkeep >/dev/null
if [ -e "$root/etc/sunkeep" ] || [ -e "$root/var/lib/sunkeep" ]; then fail "purge must take the config and the data"; fi
echo "package-test: installed, ran, removed and purged in a clean Debian 12 root"

# The Containerfile's runtime stage in another clean root (no container engine runs here).
root=$work/container
fresh_root "$root"
cp deploy/container/setup-runtime.sh deploy/container/sunkeep.toml "$root/tmp/"
in_root "$root" sh /tmp/setup-runtime.sh "/tmp/$(basename "$deb")" /tmp/sunkeep.toml >/dev/null
served "$root" 10001:10001 /etc/sunkeep/container.toml
echo "package-test: the container's runtime stage serves as user 10001 with its volume /var/lib/sunkeep"
