#!/usr/bin/env bash
# Checks the unit's sandbox against what sunkeep really does: runs BINARY under strace as an
# unprivileged user without capabilities, in a network namespace of its own with a veth interface,
# with every listener on (HTTP, AlphaESS, Sermatec, the SMA Energy Meter multicast listener); makes
# it store a captured meter datagram sent to the multicast group; then requires that
#  - every system call it made is allowed by the unit's SystemCallFilter= lines,
#  - every socket family it opened is in RestrictAddressFamilies=,
#  - it created, wrote, renamed or removed files only below its state folder (ProtectSystem=strict
#    + StateDirectory) and /tmp,
#  - no memory was mapped writable and executable, nor made executable later (MemoryDenyWriteExecute=),
#  - it bound ports above 1023 and joined the multicast group without privileges.
# Usage: check-sandbox.sh BINARY UNIT (as root; reads ../shared/fixtures or SUNKEEP_FIXTURES)
set -euo pipefail
binary=$(realpath "$1")
unit=$2
fixtures=${SUNKEEP_FIXTURES:-$(dirname "$0")/../../shared/fixtures}
meter_datagram=$(realpath "$fixtures/sma/emeter_6069_mlasch_pkt0.bin")

if [ "${1:-}" != "--inside" ] && [ -z "${CHECK_SANDBOX_INSIDE:-}" ]; then
  CHECK_SANDBOX_INSIDE=1 exec unshare --net --mount --fork "$0" "$@"
fi

# The set a SystemCallFilter= group stands for, nested groups expanded.
expand() {
  systemd-analyze syscall-filter "$1" | sed -n '2,$p' | sed 's/#.*//; s/[[:space:]]//g' | grep -v '^$' |
    while read -r item; do
      if [[ $item == @* ]]; then expand "$item"; else echo "$item"; fi
    done
}
allowed=$(mktemp)
denied=$(mktemp)
while read -r value; do  # "~" before a line's list makes the whole list a deny list
  target=$allowed
  if [[ $value == "~"* ]]; then target=$denied; value=${value#\~}; fi
  for group in $value; do expand "$group" >>"$target"; done
done < <(sed -n 's/^SystemCallFilter=//p' "$unit")
sort -u -o "$allowed" "$allowed"
sort -u -o "$denied" "$denied"
families=$(sed -n 's/^RestrictAddressFamilies=//p' "$unit")

# A host of its own: loopback and a LAN interface that carries multicast (a veth pair: its peer
# only gives it a carrier).
ip link set lo up
ip link add sk0 type veth peer name sk1
ip addr add 10.213.0.1/24 dev sk0
ip link set sk1 up
ip link set sk0 multicast on up
ip route add 224.0.0.0/4 dev sk0

uid=61234
state=$(mktemp -d /var/tmp/sunkeep-sandbox.XXXXXX)  # not below /tmp, which the check allows
chown "$uid:$uid" "$state"
server=
cleanup() {
  if [ -n "$server" ]; then kill -KILL "$server" 2>/dev/null || true; fi
  rm -rf "$state" "$allowed" "$denied"
}
trap cleanup EXIT
cat >"$state/sunkeep.toml" <<TOML
[storage]
path = "$state/data/sunkeep.db"
[http]
listen = "127.0.0.1:18080"
[alphaess]
listen = "0.0.0.0:17777"
[sermatec]
listen = "0.0.0.0:19042"
[sma]
energy_meter_listen = "0.0.0.0:9522"
energy_meter_interval = "1s"
TOML
trace=$state/trace
log=$state/serve.log
setpriv --reuid "$uid" --regid "$uid" --clear-groups --no-new-privs --inh-caps=-all --bounding-set=-all \
  strace -f -qq -o "$trace" "$binary" serve --config "$state/sunkeep.toml" >"$log" 2>&1 &
server=$!
get() (
  exec 3<>/dev/tcp/127.0.0.1/18080 || exit 1
  printf 'GET %s HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n' "$1" >&3
  cat <&3
)
fail() { echo "check-sandbox: $*"; tail -20 "$log"; exit 1; }
for _ in $(seq 1 150); do get /api/v1/health 2>/dev/null | grep -q '"status":"ok"' && break; sleep 0.2; done
get /api/v1/health | grep -q '"status":"ok"' || fail "no health answer"
stored=no
for _ in $(seq 1 50); do
  cat "$meter_datagram" >/dev/udp/239.12.255.254/9522
  if get /api/v1/devices | grep -q '"vendor":"sma"'; then stored=yes; break; fi
  sleep 0.2
done
[ "$stored" = yes ] || fail "the meter datagram sent to 239.12.255.254 was not stored"
kill -TERM "$(pgrep -P "$server")"  # sunkeep, strace's child
wait "$server" || fail "sunkeep exited with an error after SIGTERM"
server=
grep -q "stopped; storage flushed" "$log" || fail "no clean shutdown"

calls=$(grep -oE '^[0-9]+ +[a-z0-9_]+\(' "$trace" | sed -E 's/^[0-9]+ +//; s/\($//' | sort -u)
outside=$(comm -23 <(echo "$calls") "$allowed"; echo "$calls" | grep -xFf "$denied" || true)
[ -z "$outside" ] || fail "system calls the unit's filter refuses: $(echo $outside)"
for family in $(grep -oE 'socket\((AF_[A-Z0-9]+)' "$trace" | sed 's/socket(//' | sort -u); do
  [[ " $families " == *" $family "* ]] || fail "socket family $family is not in RestrictAddressFamilies"
done
written=$( (grep -E '^[0-9]+ +(open|openat|openat2)\(.*O_(WRONLY|RDWR|CREAT)' "$trace"
           grep -E '^[0-9]+ +(creat|mkdir|mkdirat|unlink|unlinkat|rmdir|rename|renameat|renameat2|link|linkat|symlink|symlinkat|truncate|chmod|fchmodat)\(' "$trace") |
         grep -v ' = -1 ' | grep -oE '"[^"]+"' | tr -d '"' | sort -u)
grep -qx "$state/data/sunkeep.db" <<<"$written" || fail "the trace shows no write of the database (is the trace complete?)"
for path in $written; do
  [[ $path == "$state/data" || $path == "$state/data/"* || $path == /tmp/* || $path == /dev/null ]] || fail "wrote $path outside its state folder"
done
if grep -E '(mmap|mprotect|pkey_mprotect)\(.*PROT_WRITE\|PROT_EXEC' "$trace" | grep -qv ' = -1 '; then fail "mapped memory writable and executable"; fi
if grep -E '(mprotect|pkey_mprotect)\(.*PROT_EXEC' "$trace" | grep -qv ' = -1 '; then fail "made memory executable after mapping it"; fi
if grep -E 'shmat\(.*SHM_EXEC' "$trace" | grep -qv ' = -1 '; then fail "attached executable shared memory"; fi
grep -qE 'IP_ADD_MEMBERSHIP.* = 0$' "$trace" || fail "did not join the multicast group"
for port in $(grep -oE 'bind\(.*sin6?_port=htons\(([0-9]+)\).* = 0$' "$trace" | grep -oE 'htons\([0-9]+\)' | tr -dc '0-9\n'); do
  [ "$port" -ge 1024 ] || fail "bound privileged port $port"
done
echo "check-sandbox: $(echo "$calls" | wc -l) distinct system calls, all allowed; socket families $(grep -oE 'socket\((AF_[A-Z0-9]+)' "$trace" | sed 's/socket(//' | sort -u | tr '\n' ' ')within \"$families\"; writes only in the state folder; no W+X memory; joined 239.12.255.254 and stored a meter datagram as uid $uid without capabilities"
