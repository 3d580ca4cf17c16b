#!/bin/sh
# `make image`: build the image, then smoke-test it where a Docker engine runs. It must become
# healthy, answer a chat completion, hold no compiler, run as its unprivileged user, and exit 0
# on `docker stop` (SIGTERM: drained). Prints the image's size.
set -eu

tag=${1:-aigw:dev}
name=aigw-smoke-$$

docker build -f deploy/docker/Dockerfile -t "$tag" .
docker run -d --name "$name" -p 127.0.0.1::8080 "$tag" >/dev/null
trap 'docker rm -f "$name" >/dev/null 2>&1 || true' EXIT

status=starting
for _ in $(seq 60); do
	status=$(docker inspect -f '{{.State.Health.Status}}' "$name")
	[ "$status" = healthy ] && break
	sleep 1
done
[ "$status" = healthy ] || { docker logs "$name"; echo "smoke: the container never became healthy" >&2; exit 1; }

[ "$(docker exec "$name" id -u)" = 10001 ] || { echo "smoke: not running as uid 10001" >&2; exit 1; }
if docker exec "$name" sh -c 'command -v gcc || command -v cc' >/dev/null; then
	echo "smoke: the final image holds a C compiler" >&2
	exit 1
fi

key=$(docker exec "$name" aigw keys create --app demo)
port=$(docker port "$name" 8080/tcp | head -n 1 | sed 's/.*://')
body='{"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "smoke test"}]}'
# A key reaches every worker within a second of its creation.
for _ in $(seq 20); do
	if curl -fsS "http://127.0.0.1:$port/v1/chat/completions" -H "Authorization: Bearer $key" \
		-H "Content-Type: application/json" -d "$body"; then
		answered=yes
		break
	fi
	sleep 0.5
done
[ "${answered:-}" = yes ] || { docker logs "$name"; echo "smoke: no answer" >&2; exit 1; }
echo

docker stop -t 45 "$name" >/dev/null
code=$(docker inspect -f '{{.State.ExitCode}}' "$name")
[ "$code" = 0 ] || { docker logs "$name"; echo "smoke: exit status $code after SIGTERM" >&2; exit 1; }
docker image ls "$tag" --format 'smoke: {{.Repository}}:{{.Tag}} passed; {{.Size}}'
