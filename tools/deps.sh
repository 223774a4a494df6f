#!/bin/sh
# tools/deps.sh [--test]: install the Debian packages safepipe needs that are
# missing. Without options: what it takes to build and run the demo. With
# --test: also what the test suite, the linter and the benchmarks use.
set -eu

build="make gcc libc6-dev pkg-config zlib1g-dev libb2-dev libdeflate-dev gzip tar coreutils util-linux python3"
test="perl pigz libdeflate-tools isal zstd mandoc time procps psmisc strace acl attr mariadb-server mariadb-backup mariadb-client shellcheck cppcheck clang valgrind fuse3 libfuse3-dev prometheus prometheus-node-exporter curl systemd"

want=$build
[ "${1:-}" = --test ] && want="$want $test"

missing=
for p in $want; do
	dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$' ||
		missing="$missing $p"
done
[ -z "$missing" ] && exit 0

if ! command -v apt-get >/dev/null 2>&1; then
	echo "deps.sh: no apt-get here; please install:$missing" >&2
	exit 1
fi
sudo=
[ "$(id -u)" -ne 0 ] && sudo=sudo
echo "deps.sh: installing:$missing" >&2
$sudo apt-get update -qq
# shellcheck disable=SC2086  # word splitting is the point
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends $missing >/dev/null
