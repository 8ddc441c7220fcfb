#!/bin/sh
# Runs one sandbox service as a plain process (no systemd), in the foreground, logging to stderr.
# Its configuration was copied to /config by `docker cp` before the container started.
#   aidevops-service dns              BIND, authoritative for the zones in /config/named.conf
#   aidevops-service acme DNS:PORT    pebble, resolving through the sandbox DNS server
set -eu
self=$(hostname -i | awk '{print $1}')
case "${1:-}" in
  dns)
    # Zone files are copied where named may write their journals (dynamic updates).
    for zone in /config/*.zone; do
      sed "s/__SELF_ADDRESS__/$self/g" "$zone" > "/var/lib/bind/$(basename "$zone")"
    done
    chown -R bind:bind /var/lib/bind /var/cache/bind
    chgrp bind /config/*.key && chmod 0640 /config/*.key
    named-checkconf /config/named.conf
    exec named -g -u bind -c /config/named.conf
    ;;
  acme)
    # Pebble's VA waits up to 15 s before validating unless told not to; nonces are never rejected
    # at random (certbot retries one badNonce only).
    export PEBBLE_VA_NOSLEEP=1 PEBBLE_WFE_NONCEREJECT=0
    exec pebble -config /config/pebble.json -dnsserver "${2:?the DNS server (address:port)}"
    ;;
  *)
    echo "usage: aidevops-service dns | acme DNS:PORT" >&2
    exit 2
    ;;
esac
