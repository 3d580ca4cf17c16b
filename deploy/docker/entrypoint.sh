#!/bin/sh
# The image's entrypoint: secrets may come as files (Docker and Kubernetes mount secrets as files).
# For every VAR_FILE in the environment, VAR is set to that file's content (its trailing newlines
# dropped) and VAR_FILE is unset; then aigw replaces this shell, so it receives the signals.
set -eu

for var in $(env | sed -n 's/^\([A-Za-z_][A-Za-z0-9_]*\)_FILE=.*/\1/p'); do
	file=$(printenv "${var}_FILE")
	if printenv "$var" >/dev/null; then
		echo "aigw-entrypoint: both $var and ${var}_FILE are set; keep one" >&2
		exit 2
	fi
	if ! value=$(cat -- "$file"); then
		echo "aigw-entrypoint: ${var}_FILE: cannot read $file" >&2
		exit 2
	fi
	export "$var=$value"
	unset "${var}_FILE"
done

exec aigw "$@"
