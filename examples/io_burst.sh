#!/usr/bin/env bash
# Write and read back SIM_MB megabytes (default 64) with fsync: an I/O-bound job.
set -euo pipefail
mb=${SIM_MB:-64}
dd if=/dev/zero of=data.bin bs=1M count="$mb" conv=fsync status=none
sync
cat data.bin > /dev/null
rm -f data.bin
echo "wrote and read ${mb} MB"
