#!/usr/bin/env bash
# Runs `sunkeep serve` in the Debian root ROOT as UID:GID with CONFIG and checks it serves, backs
# up its database, and exits cleanly on SIGTERM. scripts/package-test.sh starts it inside a
# network and mount namespace of its own (unshare), so binding 0.0.0.0 reaches no real network and
# the /proc mount ends with it.
# Usage: chroot-serve.sh ROOT UID:GID CONFIG
set -euo pipefail
root=$1
user=$2
config=$3

ip link set lo up
mount -t proc proc "$root/proc"
in_root() { chroot --userspec="$user" "$root" "$@"; }

log="$root/tmp/serve.log"
chroot --userspec="$user" "$root" sunkeep serve --config "$config" >"$log" 2>&1 &  # $! is sunkeep itself
server=$!
for _ in $(seq 1 150); do
  in_root sunkeep health --config "$config" >/dev/null 2>&1 && break
  kill -0 "$server" 2>/dev/null || { echo "chroot-serve: sunkeep serve exited:"; cat "$log"; exit 1; }
  sleep 0.2
done
answer=$(in_root sunkeep health --config "$config") || { echo "chroot-serve: not healthy: $answer"; cat "$log"; exit 1; }
echo "chroot-serve: health: $answer"
in_root sunkeep backup /var/lib/sunkeep/backup.db --config "$config"
in_root sunkeep backup /var/lib/sunkeep/backup.db --config "$config" 2>/dev/null && { echo "chroot-serve: backup overwrote"; exit 1; }
echo "chroot-serve: sunkeep doctor says (problems expected: no device, no redirect):"
in_root sunkeep doctor --config "$config" | sed 's/^/  /' || true
kill -TERM "$server"
status=0
wait "$server" || status=$?
[ "$status" -eq 0 ] || { echo "chroot-serve: exit $status after SIGTERM"; cat "$log"; exit 1; }
grep -q "stopped; storage flushed" "$log" || { echo "chroot-serve: no clean shutdown"; cat "$log"; exit 1; }
[ -s "$root/var/lib/sunkeep/sunkeep.db" ] || { echo "chroot-serve: no database in /var/lib/sunkeep"; exit 1; }
owner=$(stat -c %u:%g "$root/var/lib/sunkeep/sunkeep.db")
[ "$owner" = "$user" ] || { echo "chroot-serve: database owned by $owner, not $user"; exit 1; }
echo "chroot-serve: served, backed up and stopped cleanly as $user"
