#!/bin/sh
# Installs the Debian packages listed in $1 that are missing. Quiet when all
# are present; runs `apt-get update` once before installing anything.
set -eu
list=${1:?usage: deps.sh PACKAGE-LIST}
missing=""
for p in $(sed 's/#.*//' "$list"); do
	if ! dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$'; then
		missing="$missing $p"
	fi
done
[ -z "$missing" ] && exit 0
echo "deps: installing:$missing"
if [ "$(id -u)" != 0 ]; then
	echo "deps: these packages are missing and installing them needs root:$missing" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null
echo "deps: done"
