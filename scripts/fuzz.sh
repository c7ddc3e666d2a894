#!/bin/sh
# Runs every Go fuzz target in the module for FUZZTIME each (default 60s), one
# after another: `go test -fuzz` takes one target per invocation. Targets are
# found by their declarations (func FuzzXxx in *_test.go), so a new one is
# included without editing this file. `make fuzz` runs it beside a private
# PostgreSQL, so packages whose TestMain needs one (internal/community) do not
# start a cluster in every fuzz worker.
#
# A failing input is saved under the package's testdata/fuzz/<target>/ and
# from then on runs as a seed in `make test`: commit it with the fix.
set -eu
FUZZTIME=${FUZZTIME:-60s}
GO=${GO:-go}
cd "$(dirname "$0")/.."

targets=$(grep -rE --include='*_test.go' -o '^func Fuzz[A-Za-z0-9_]+\(' . |
	grep -v '/\.' | sed -E 's|^\./(.*)/[^/]+:func (Fuzz[A-Za-z0-9_]+)\($|\1 \2|' | sort -u)
if [ -z "$targets" ]; then
	echo "fuzz: no fuzz targets found" >&2
	exit 1
fi
n=$(echo "$targets" | wc -l)
echo "fuzz: $n targets, $FUZZTIME each"
failed=""
echo "$targets" | {
	while read -r dir target; do
		echo "== $target (./$dir)"
		if ! $GO test -run '^$' -fuzz "^${target}\$" -fuzztime "$FUZZTIME" "./$dir"; then
			failed="$failed $target"
		fi
	done
	if [ -n "$failed" ]; then
		echo "fuzz: failed:$failed" >&2
		exit 1
	fi
	echo "fuzz: all $n targets ran $FUZZTIME without a failure"
}
