#!/usr/bin/env bash
# Two "machines" on one host (docs/DISTRIBUTED.md): two network namespaces joined by a veth pair with
# private addresses of the project's own (10.77.0.1 and 10.77.0.2, reachable from nothing else), and
# `mpirun` across them over TCP, one rank in each. mpirun starts in namespace A; Open MPI reaches
# "machine" B through a launch agent that enters namespace B (`ip netns exec`) instead of ssh.
# Shared memory between the two is switched off (btl tcp,self), so every byte goes over TCP.
# Needs root (ip netns), Open MPI, and a fovea built with the MPI trait:
#   swift build -c release --traits MPI --scratch-path .build-mpi --product fovea
#   bash scripts/netns_mpi.sh [fovea arguments…]     (default: train --model deep-cnn --limit 2048 --epochs 1)
set -uo pipefail
cd "$(dirname "$0")/.."
fovea=$(realpath "${FOVEA:-.build-mpi/release/fovea}" 2>/dev/null || true)
check=$(realpath "${FOVEA_MPI_CHECK:-.build-mpi/release/FoveaMPICheck}" 2>/dev/null || true)
a=fovea-a b=fovea-b
work=$(mktemp -d)
cleanup() { ip netns del $a 2>/dev/null; ip netns del $b 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
cleanup; work=$(mktemp -d)

ip netns add $a && ip netns add $b || { echo "ip netns failed (needs root)"; exit 1; }
ip link add veth-fovea-a type veth peer name veth-fovea-b
ip link set veth-fovea-a netns $a
ip link set veth-fovea-b netns $b
ip -n $a addr add 10.77.0.1/24 dev veth-fovea-a
ip -n $b addr add 10.77.0.2/24 dev veth-fovea-b
for ns in $a $b; do ip -n $ns link set lo up; done
ip -n $a link set veth-fovea-a up
ip -n $b link set veth-fovea-b up
ip netns exec $a bash -c "exec 3<>/dev/tcp/10.77.0.2/9 2>/dev/null; true"; ip -n $a neigh show | grep -q 10.77.0.2 || echo "warning: 10.77.0.2 not seen from $a yet"

# Open MPI's launch agent: "<agent> <host> <command…>" runs the command on that host.
cat >"$work/agent" <<AGENT
#!/bin/sh
host=\$1; shift
case "\$host" in
  10.77.0.1) ns=$a ;;
  10.77.0.2) ns=$b ;;
  *) echo "netns agent: unknown host \$host" >&2; exit 1 ;;
esac
exec ip netns exec "\$ns" sh -c "\$*"
AGENT
chmod +x "$work/agent"
printf '10.77.0.1 slots=1\n10.77.0.2 slots=1\n' >"$work/hosts"

export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
mpi=(mpirun --hostfile "$work/hosts" -np 2 --map-by node
     --mca plm_rsh_agent "$work/agent" --mca btl tcp,self
     --mca btl_tcp_if_include 10.77.0.0/24 --mca oob_tcp_if_include 10.77.0.0/24
     -x OMPI_ALLOW_RUN_AS_ROOT -x OMPI_ALLOW_RUN_AS_ROOT_CONFIRM -x PATH)
cd "$work"
echo "== where each rank runs"
ip netns exec $a "${mpi[@]}" sh -c 'echo "rank $OMPI_COMM_WORLD_RANK: $(ip -4 -o addr show scope global | awk "{print \$4}")"'
if [ -x "$check" ]; then
  echo "== MPI checks across the two namespaces"
  ip netns exec $a "${mpi[@]}" "$check"
fi
if [ -x "$check" ]; then
  echo "== allreduce time against message size across the two namespaces"
  ip netns exec $a "${mpi[@]}" "$check" --sweep
  echo "== one epoch of the deep CNN on 4096 images, 1 thread per rank (no test pass)"
  ip netns exec $a "${mpi[@]}" "$check" --train deep-cnn 4096 1 1 0
fi
if [ -x "$fovea" ]; then
  echo "== fovea across the two namespaces"
  if [ $# -eq 0 ]; then set -- train --model deep-cnn --limit 2048 --epochs 1 --threads 1 --verbose 2; fi
  ip netns exec $a "${mpi[@]}" "$fovea" "$@"
fi
