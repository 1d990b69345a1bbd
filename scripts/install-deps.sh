#!/usr/bin/env bash
# Installs the Debian packages the test tiers need (real peers, pcap headers, neighbour tools).
# Run as root. Services that packages would start (nats-server, frr, bird) are NOT started:
# the tests start their own instances on private ports and in their own namespaces.
set -euo pipefail
PKGS=(
  build-essential python3 libpcap-dev           # native pcap addon (node-gyp)
  iproute2 iputils-ping iputils-arping ndisc6 tcpdump   # namespaces, ARP/NDP checks
  nats-server                                   # coordination (3-server cluster in tests)
  frr gobgpd bird2                              # BGP/BFD interop peers
  frr-pythontools                               # frr-reload.py: the FRR backend applies its renders with it
  nftables                                      # packet drops inside test namespaces (BGP hold timer)
  openssl ca-certificates socat curl
  mmdebstrap                                    # npm run image: OCI image from Debian packages, no Docker
  # Real test cluster (docs/real-cluster.md): a containerd + kubelet per node namespace, Pod networks
  # from the CNI plugins, kube-proxy's iptables and conntrack, images built with umoci from busybox
  containerd runc containernetworking-plugins iptables conntrack umoci busybox-static
  chromium                                      # the visualizer's and the chaos report's browser tests
)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all Debian packages present"
  exit 0
fi
if [ "$(id -u)" != 0 ]; then
  echo "install-deps: missing Debian packages: ${missing[*]}" >&2
  echo "install-deps: run as root: sudo apt-get install -y ${missing[*]}" >&2
  exit 1
fi
echo "install-deps: installing ${missing[*]}"
# Keep package post-install scripts from starting system services.
cleanup() { rm -f /usr/sbin/policy-rc.d; }
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
  trap cleanup EXIT
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "install-deps: done"
