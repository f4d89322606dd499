#!/bin/sh
# Runs each benchmark binary; collects their rows under one header into $1
# (tab-separated: name value unit baseline baseline_value ratio) and prints it.
set -eu
out=$1
shift
printf 'name\tvalue\tunit\tbaseline\tbaseline_value\tratio\n' >"$out"
for b in "$@"; do
	echo "# $b" >&2
	"$b" >>"$out"
done
echo "# $out (ratio > 1: ours is better)"
column -t -s "$(printf '\t')" "$out"
