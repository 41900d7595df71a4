#!/usr/bin/env bash
# run.sh benchmarks sluice side by side with nginx, HAProxy and Caddy on
# this machine, all on 127.0.0.1, and writes bench/results/latest.md.
# See bench/README.md. Environment:
#   PROXIES="nginx haproxy caddy sluice"   which proxies to run (subset, any order);
#                   sluice-obs is sluice with an access log and --metrics-addr on
#                   (compare it with sluice for the cost of observability)
#   SCENARIOS="http https newconn 16k upload ws idle"
#   DURATION=10     seconds per measured run; QUICK=1 makes it 3
#   DIRECT=1        also run every scenario straight at the backend (0: skip)
#   CONNS=64        client connections for the wrk and WebSocket runs
#   IDLE_CONNS=10000  connections for the idle-RSS scenario
#   BASE_PORT=28000   first of the ports used (base .. base+52)
#   KEEP_TMP=1      keep the temp dir with configs and logs
#   SLUICE_BIN=path use this sluice binary instead of building ./cmd/sluice
set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$HERE")

PROXIES=${PROXIES:-"nginx haproxy caddy sluice"}
SCENARIOS=${SCENARIOS:-"http https newconn 16k upload ws idle"}
QUICK=${QUICK:-0}
if [[ -n ${DURATION:-} ]]; then D=$DURATION; elif [[ $QUICK == 1 ]]; then D=3; else D=10; fi
WARMUP=2
DIRECT=${DIRECT:-1}
CONNS=${CONNS:-64}
UPLOAD_CONNS=8
IDLE_CONNS=${IDLE_CONNS:-10000}
BASE_PORT=${BASE_PORT:-28000}
ALL_SCENARIOS="http https newconn 16k upload ws idle"
ALL_PROXIES="nginx haproxy caddy sluice sluice-obs"

log() { printf '[bench %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "error: $*"; exit 1; }

for p in $PROXIES; do [[ " $ALL_PROXIES " == *" $p "* ]] || die "unknown proxy $p (choose from: $ALL_PROXIES)"; done
for s in $SCENARIOS; do [[ " $ALL_SCENARIOS " == *" $s "* ]] || die "unknown scenario $s (choose from: $ALL_SCENARIOS)"; done
[[ $D =~ ^[0-9]+$ && $D -ge 1 ]] || die "DURATION must be a whole number of seconds, got $D"

# CPU layout: proxies on one core, backend and load generators on the other.
if (( $(nproc) >= 2 )); then CPU_PROXY=0 CPU_LOAD=1; else CPU_PROXY=0 CPU_LOAD=0; fi

# --- processes we start, and cleanup -------------------------------------

GROUPS_STARTED=() # process group ids (every long-running child is its own group leader)
TMP=""

stop_group() { # pgid: TERM the group, KILL it if still there after 5s
	local pg=$1 i
	kill -TERM -- "-$pg" 2>/dev/null || return 0
	for ((i = 0; i < 50; i++)); do
		kill -0 -- "-$pg" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL -- "-$pg" 2>/dev/null
	wait "$pg" 2>/dev/null
	return 0
}

cleanup() {
	local pg
	trap - EXIT INT TERM
	for pg in "${GROUPS_STARTED[@]}"; do stop_group "$pg"; done
	if [[ -n $TMP && -d $TMP ]]; then
		if [[ ${KEEP_TMP:-0} == 1 ]]; then log "kept $TMP"; else rm -rf "$TMP"; fi
	fi
}
trap cleanup EXIT
trap 'log interrupted; exit 130' INT TERM

# start NAME CPU CMD...: runs CMD pinned to CPU in a new session (so the whole
# group can be signalled), output to $TMP/NAME.log; sets STARTED_PID.
start() {
	local name=$1 cpu=$2
	shift 2
	setsid taskset -c "$cpu" "$@" >"$TMP/$name.log" 2>&1 </dev/null &
	STARTED_PID=$!
	GROUPS_STARTED+=("$STARTED_PID")
}

forget_group() { # pgid
	local pg=$1 keep=() g
	for g in "${GROUPS_STARTED[@]}"; do [[ $g == "$pg" ]] || keep+=("$g"); done
	GROUPS_STARTED=("${keep[@]}")
}

# --- 1. packages -----------------------------------------------------------

stop_system_service() { # name pidfile: stop a service a package may have started
	local s=$1 pidfile=$2 pid
	if command -v systemctl >/dev/null && [[ -d /run/systemd/system ]]; then
		timeout 30 systemctl stop "$s" >/dev/null 2>&1
	fi
	command -v service >/dev/null && timeout 30 service "$s" stop >/dev/null 2>&1
	# Without an init system: the packaged daemon writes a pid file. Only
	# that pid is signalled, so proxies other people run on this box live.
	if [[ -r $pidfile ]]; then
		pid=$(head -1 "$pidfile" 2>/dev/null)
		if [[ $pid =~ ^[0-9]+$ ]] && [[ $(cat "/proc/$pid/comm" 2>/dev/null) == "$s" ]]; then
			kill -TERM "$pid" 2>/dev/null
		fi
	fi
	return 0
}

install_packages() {
	local need=() cmd pkg
	for pair in nginx:nginx-light haproxy:haproxy caddy:caddy wrk:wrk openssl:openssl curl:curl taskset:util-linux setsid:util-linux; do
		cmd=${pair%%:*} pkg=${pair#*:}
		command -v "$cmd" >/dev/null || [[ -x /usr/sbin/$cmd ]] || need+=("$pkg")
	done
	if ((${#need[@]} > 0)); then
		[[ $(id -u) == 0 ]] || die "missing packages ${need[*]}; run as root or install them"
		log "installing ${need[*]}"
		DEBIAN_FRONTEND=noninteractive timeout 300 apt-get update -q >/dev/null || die "apt-get update failed"
		DEBIAN_FRONTEND=noninteractive timeout 600 apt-get install -y -q --no-install-recommends "${need[@]}" >/dev/null ||
			die "apt-get install ${need[*]} failed"
	fi
	if [[ $(id -u) == 0 ]]; then
		stop_system_service nginx /run/nginx.pid
		stop_system_service haproxy /run/haproxy.pid
		stop_system_service caddy /run/caddy.pid
	fi
	export PATH=$PATH:/usr/sbin
}

# --- 2. builds -------------------------------------------------------------

build() {
	log "building sluice and the bench tools"
	command -v go >/dev/null || die "go not found"
	if [[ -n ${SLUICE_BIN:-} ]]; then
		cp "$SLUICE_BIN" "$TMP/sluice" || die "cannot copy SLUICE_BIN=$SLUICE_BIN"
	else
		(cd "$ROOT" && timeout 300 go build -o "$TMP/sluice" ./cmd/sluice) || die "building sluice failed"
	fi
	# Distinct names, so that nobody's "pkill backend" hits ours.
	local t
	for t in backend wsload idleconns; do
		(cd "$ROOT" && timeout 300 go build -o "$TMP/sluice-bench-$t" "./bench/$t") || die "building bench/$t failed"
	done
}

# --- 3. configs ------------------------------------------------------------

BACKEND_PORT=$BASE_PORT
BACKEND_TLS_PORT=$((BASE_PORT + 1))
declare -A HTTP_PORT=([direct]=$BACKEND_PORT [nginx]=$((BASE_PORT + 10)) [haproxy]=$((BASE_PORT + 20))
	[caddy]=$((BASE_PORT + 30)) [sluice]=$((BASE_PORT + 40)) [sluice-obs]=$((BASE_PORT + 50)))
declare -A HTTPS_PORT=([direct]=$BACKEND_TLS_PORT [nginx]=$((BASE_PORT + 11)) [haproxy]=$((BASE_PORT + 21))
	[caddy]=$((BASE_PORT + 31)) [sluice]=$((BASE_PORT + 41)) [sluice-obs]=$((BASE_PORT + 51)))
METRICS_PORT=$((BASE_PORT + 52))

check_ports() {
	local p
	for p in $BACKEND_PORT $BACKEND_TLS_PORT "${HTTP_PORT[@]}" "${HTTPS_PORT[@]}"; do
		if [[ -n $(ss -Hltn "sport = :$p" 2>/dev/null) ]]; then
			die "port $p is in use; choose other ports with BASE_PORT=N"
		fi
	done
}

write_configs() {
	local cert=$TMP/cert.pem key=$TMP/key.pem
	timeout 30 openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
		-keyout "$key" -out "$cert" -days 30 -subj /CN=localhost \
		-addext "subjectAltName=DNS:localhost,IP:127.0.0.1" >/dev/null 2>&1 || die "openssl could not make a certificate"
	cat "$cert" "$key" >"$TMP/bundle.pem"

	# nginx: one worker, keep-alive pool of 64 to the backend, no buffering
	# of request bodies (the others stream them too), no access log.
	mkdir -p "$TMP/nginx"
	cat >"$TMP/nginx.conf" <<EOF
worker_processes 1;
daemon off;
user root;
pid $TMP/nginx/nginx.pid;
error_log $TMP/nginx/error.log warn;
worker_rlimit_nofile $NOFILE;
events { worker_connections $((NOFILE - 100)); }
http {
    access_log off;
    keepalive_timeout 300s;
    keepalive_requests 10000000;
    client_max_body_size 0;
    # Stream request bodies like the others do. With the default 16k body
    # buffer nginx manages only a third of the 1 MiB uploads it does with
    # 128k, and with buffering on (the default) it writes each body to a
    # temp file first; see README.md.
    proxy_request_buffering off;
    client_body_buffer_size 128k;
    client_body_temp_path $TMP/nginx/body;
    proxy_temp_path $TMP/nginx/proxy;
    fastcgi_temp_path $TMP/nginx/fastcgi;
    uwsgi_temp_path $TMP/nginx/uwsgi;
    scgi_temp_path $TMP/nginx/scgi;
    map \$http_upgrade \$connection_upgrade { default upgrade; '' ''; }
    upstream backend {
        server 127.0.0.1:$BACKEND_PORT;
        keepalive 64;
        keepalive_requests 10000000;
        keepalive_timeout 300s;
    }
    server {
        listen 127.0.0.1:${HTTP_PORT[nginx]};
        listen 127.0.0.1:${HTTPS_PORT[nginx]} ssl;
        ssl_certificate $cert;
        ssl_certificate_key $key;
        ssl_protocols TLSv1.2 TLSv1.3;
        location / {
            proxy_pass http://backend;
            proxy_http_version 1.1;
            proxy_set_header Upgrade \$http_upgrade;
            proxy_set_header Connection \$connection_upgrade;
            proxy_read_timeout 300s;
        }
    }
}
EOF

	# HAProxy: one thread, HTTP mode, aggressive server connection reuse.
	cat >"$TMP/haproxy.cfg" <<EOF
global
    nbthread 1
    # Where the open-file limit cannot be raised to 2 x maxconn, run with
    # what there is (idle clients need no server connections).
    no strict-limits
    maxconn $((IDLE_CONNS + 2000))
defaults
    mode http
    maxconn $((IDLE_CONNS + 2000))
    timeout connect 5s
    timeout client 300s
    timeout server 300s
    timeout http-keep-alive 300s
    timeout tunnel 300s
    http-reuse always
frontend fe
    bind 127.0.0.1:${HTTP_PORT[haproxy]}
    bind 127.0.0.1:${HTTPS_PORT[haproxy]} ssl crt $TMP/bundle.pem
    default_backend be
backend be
    server s1 127.0.0.1:$BACKEND_PORT
EOF

	# Caddy: reverse_proxy with its default transport; no admin endpoint,
	# no automatic HTTPS, no HTTP/3 listener, no access log.
	cat >"$TMP/Caddyfile" <<EOF
{
    admin off
    auto_https off
    servers {
        protocols h1 h2
    }
}
http://:${HTTP_PORT[caddy]} {
    bind 127.0.0.1
    reverse_proxy 127.0.0.1:$BACKEND_PORT
}
https://:${HTTPS_PORT[caddy]} {
    bind 127.0.0.1
    tls $cert $key
    reverse_proxy 127.0.0.1:$BACKEND_PORT
}
EOF

	# sluice: one load balancer, HTTP and HTTPS listeners, each with 20 rules
	# that never match the benchmark's requests in front of the default
	# forward, so that every request is really routed.
	local rules="" i
	for ((i = 1; i <= 20; i++)); do
		if ((i % 2)); then
			rules+="          - { priority: $i, conditions: [{ field: path-pattern, values: [\"/nomatch-$i/*\"] }], actions: [{ type: forward, target_group: backend }] }"$'\n'
		else
			rules+="          - { priority: $i, conditions: [{ field: host-header, values: [\"nomatch-$i.example.com\"] }], actions: [{ type: forward, target_group: backend }] }"$'\n'
		fi
	done
	cat >"$TMP/sluice.yaml" <<EOF
version: 1
load_balancers:
  - name: bench
    listeners:
      - protocol: HTTP
        address: 127.0.0.1
        port: ${HTTP_PORT[sluice]}
        rules:
$rules        default_actions:
          - { type: forward, target_group: backend }
      - protocol: HTTPS
        address: 127.0.0.1
        port: ${HTTPS_PORT[sluice]}
        certificates: [bench]
        rules:
$rules        default_actions:
          - { type: forward, target_group: backend }
target_groups:
  - name: backend
    protocol: HTTP
    port: $BACKEND_PORT
    targets: [{ id: 127.0.0.1 }]
    health_check: { path: /, interval: 30s }
certificates:
  - name: bench
    cert_file: $cert
    key_file: $key
EOF
	timeout 30 "$TMP/sluice" validate -c "$TMP/sluice.yaml" >/dev/null || die "sluice rejected the bench config $TMP/sluice.yaml"
	# sluice-obs: the same, on its own ports, with an ALB-format access log.
	sed -e "s/port: ${HTTP_PORT[sluice]}\$/port: ${HTTP_PORT[sluice-obs]}/" \
		-e "s/port: ${HTTPS_PORT[sluice]}\$/port: ${HTTPS_PORT[sluice-obs]}/" \
		-e "0,/^  - name: bench\$/s||  - name: bench\n    access_logs: { path: $TMP/sluice-access.log }|" \
		"$TMP/sluice.yaml" >"$TMP/sluice-obs.yaml"
	timeout 30 "$TMP/sluice" validate -c "$TMP/sluice-obs.yaml" >/dev/null || die "sluice rejected the bench config $TMP/sluice-obs.yaml"
}

# --- proxies ---------------------------------------------------------------

PROXY_PG="" # process group of the running proxy (or the backend for direct)

start_proxy() { # name
	local name=$1
	case $name in
	nginx) start nginx $CPU_PROXY nginx -c "$TMP/nginx.conf" -e "$TMP/nginx/error.log" ;;
	haproxy) start haproxy $CPU_PROXY haproxy -db -f "$TMP/haproxy.cfg" ;;
	caddy) start caddy $CPU_PROXY env GOMAXPROCS=1 HOME="$TMP" XDG_DATA_HOME="$TMP/caddy" XDG_CONFIG_HOME="$TMP/caddy" \
		caddy run --adapter caddyfile --config "$TMP/Caddyfile" ;;
	sluice) start sluice $CPU_PROXY env GOMAXPROCS=1 "$TMP/sluice" serve -c "$TMP/sluice.yaml" \
		--data-dir "$TMP/sluice-data" --log-level warn --admin-addr off --store memory ;;
	sluice-obs) start sluice-obs $CPU_PROXY env GOMAXPROCS=1 "$TMP/sluice" serve -c "$TMP/sluice-obs.yaml" \
		--data-dir "$TMP/sluice-data" --log-level warn --admin-addr off --store memory \
		--metrics-addr "127.0.0.1:$METRICS_PORT" ;;
	direct) PROXY_PG=$BACKEND_PG; return 0 ;;
	esac
	PROXY_PG=$STARTED_PID
	wait_ready "$name" || { tail -20 "$TMP/$name.log" >&2; return 1; }
}

stop_proxy() { # name
	[[ $1 == direct || -z $PROXY_PG ]] && return 0
	stop_group "$PROXY_PG"
	forget_group "$PROXY_PG"
	PROXY_PG=""
}

# wait_ready name: up to 30s for "ok" on both the HTTP and HTTPS listeners.
wait_ready() {
	local name=$1 i
	for ((i = 0; i < 150; i++)); do
		kill -0 "$PROXY_PG" 2>/dev/null || { log "$name exited"; return 1; }
		if [[ $(curl -s --max-time 2 "http://127.0.0.1:${HTTP_PORT[$name]}/" 2>/dev/null) == ok &&
			$(curl -sk --max-time 2 "https://127.0.0.1:${HTTPS_PORT[$name]}/" 2>/dev/null) == ok ]]; then
			return 0
		fi
		sleep 0.2
	done
	log "$name did not answer within 30s"
	return 1
}

# --- measurement helpers -------------------------------------------------

CLK_TCK=$(getconf CLK_TCK)

group_ticks() { # pgid -> utime+stime of every process in the group, in clock ticks
	local p t=0 v
	for p in $(pgrep -g "$1"); do
		v=$(awk '{sub(/^.*\) /, ""); print $12 + $13}' "/proc/$p/stat" 2>/dev/null) && t=$((t + ${v:-0}))
	done
	echo "$t"
}

group_rss_kib() { # pgid -> summed VmRSS in KiB
	local p t=0 v
	for p in $(pgrep -g "$1"); do
		v=$(awk '/^VmRSS:/{print $2}' "/proc/$p/status" 2>/dev/null) && t=$((t + ${v:-0}))
	done
	echo "$t"
}

declare -A RPS P99 CPU ERR RSS0 RSS1 KPC

# record scenario name rps p99_ms requests ticks errors
record() {
	local sc=$1 name=$2 rps=$3 p99=$4 n=$5 ticks=$6 err=$7
	RPS[$sc,$name]=$(awk -v v="$rps" 'BEGIN{printf "%.0f", v}')
	P99[$sc,$name]=$(awk -v v="$p99" 'BEGIN{printf "%.2f", v}')
	CPU[$sc,$name]=$(awk -v t="$ticks" -v n="$n" -v hz="$CLK_TCK" 'BEGIN{ if (n > 0) printf "%.1f", t * 1e6 / hz / n; else print "-" }')
	ERR[$sc,$name]=$err
	local unit=req
	[[ $sc == ws ]] && unit=msg
	log "$(printf '%-8s %-8s %10s %s/s  p99 %8s ms  cpu %8s us/%s  errors %s' "$sc" "$name" \
		"${RPS[$sc,$name]}" "$unit" "${P99[$sc,$name]}" "${CPU[$sc,$name]}" "$unit" "$err")"
}

fail() { # scenario name reason
	RPS[$1,$2]=FAIL P99[$1,$2]=- CPU[$1,$2]=- ERR[$1,$2]=-
	[[ $1 == idle ]] && RSS0[$2]=- RSS1[$2]=- KPC[$2]=FAIL
	log "$1 $2 FAILED: $3"
}

RAW=$HERE/results/latest.raw

# wrk_run scenario name url [wrk args...]: warmup, then a measured run.
wrk_run() {
	local sc=$1 name=$2 url=$3
	shift 3
	local out=$TMP/wrk-$sc-$name.txt t0 t1
	timeout --foreground -k 5 $((WARMUP + 30)) taskset -c $CPU_LOAD wrk -t1 -d${WARMUP}s "$@" "$url" >/dev/null 2>&1
	t0=$(group_ticks "$PROXY_PG")
	timeout --foreground -k 5 $((D + 30)) taskset -c $CPU_LOAD wrk -t1 -d${D}s --latency "$@" "$url" >"$out" 2>&1
	local rc=$?
	t1=$(group_ticks "$PROXY_PG")
	{ echo "### $sc $name: wrk -t1 -d${D}s --latency $* $url (exit $rc)"; cat "$out"; } >>"$RAW"
	local n rps p99 err
	n=$(awk '/ requests in /{print $1}' "$out")
	rps=$(awk '/^Requests\/sec:/{print $2}' "$out")
	p99=$(awk '$1 == "99%" { v = $2
		if (v ~ /us$/) { sub(/us$/, "", v); v /= 1000 }
		else if (v ~ /ms$/) { sub(/ms$/, "", v) }
		else if (v ~ /m$/) { sub(/m$/, "", v); v *= 60000 }
		else if (v ~ /s$/) { sub(/s$/, "", v); v *= 1000 }
		print v }' "$out")
	err=$(awk '/Socket errors:/ { gsub(",", ""); e += $4 + $6 + $8 + $10 } /Non-2xx or 3xx/ { e += $NF } END { print e + 0 }' "$out")
	if [[ $rc != 0 || -z $n || -z $rps || -z $p99 ]]; then
		fail "$sc" "$name" "wrk exit $rc: $(tail -3 "$out" | tr '\n' ' ')"
		return
	fi
	record "$sc" "$name" "$rps" "$p99" "$n" $((t1 - t0)) "$err"
}

ws_run() { # name
	local name=$1 url="ws://127.0.0.1:${HTTP_PORT[$1]}/ws" out=$TMP/ws-$1.txt t0 t1 rc
	GOMAXPROCS=1 timeout --foreground -k 5 $((WARMUP + 40)) taskset -c $CPU_LOAD "$TMP/sluice-bench-wsload" -url "$url" -c "$CONNS" -d ${WARMUP}s >/dev/null 2>&1
	t0=$(group_ticks "$PROXY_PG")
	GOMAXPROCS=1 timeout --foreground -k 5 $((D + 40)) taskset -c $CPU_LOAD "$TMP/sluice-bench-wsload" -url "$url" -c "$CONNS" -d ${D}s >"$out" 2>&1
	rc=$?
	t1=$(group_ticks "$PROXY_PG")
	{ echo "### ws $name: wsload -url $url -c $CONNS -d ${D}s (exit $rc)"; cat "$out"; } >>"$RAW"
	local line
	line=$(grep '^messages=' "$out")
	if [[ $rc != 0 || -z $line ]]; then
		fail ws "$name" "wsload exit $rc: $(tail -3 "$out" | tr '\n' ' ')"
		return
	fi
	local n rps p99 err
	n=$(sed 's/.*messages=\([0-9]*\).*/\1/' <<<"$line")
	rps=$(sed 's/.*msgs_per_sec=\([0-9.]*\).*/\1/' <<<"$line")
	p99=$(sed 's/.*p99_ms=\([0-9.]*\).*/\1/' <<<"$line")
	err=$(sed 's/.*errors=\([0-9]*\).*/\1/' <<<"$line")
	record ws "$name" "$rps" "$p99" "$n" $((t1 - t0)) "$err"
}

idle_run() { # name: RSS of the serving process(es) before and with IDLE_CONNS idle connections
	local name=$1 out=$TMP/idle-$1.txt before after ready="" i pg
	before=$(group_rss_kib "$PROXY_PG")
	start idle-$name $CPU_LOAD env GOMAXPROCS=1 "$TMP/sluice-bench-idleconns" -addr "127.0.0.1:${HTTP_PORT[$name]}" -n "$IDLE_CONNS" -hold 10m
	pg=$STARTED_PID
	for ((i = 0; i < 600; i++)); do # up to 120s
		ready=$(grep '^ready ' "$TMP/idle-$name.log" 2>/dev/null)
		[[ -n $ready ]] && break
		kill -0 "$pg" 2>/dev/null || break
		sleep 0.2
	done
	sleep 1
	after=$(group_rss_kib "$PROXY_PG")
	stop_group "$pg"
	forget_group "$pg"
	{ echo "### idle $name: before=${before}KiB after=${after}KiB $ready"; cat "$TMP/idle-$name.log"; } >>"$RAW"
	local opened=${ready#ready }
	if [[ -z $ready || $opened == 0 ]]; then
		RSS0[$name]=$((before / 1024)) RSS1[$name]=- KPC[$name]=FAIL ERR[idle,$name]=-
		log "idle $name FAILED: $(tail -3 "$TMP/idle-$name.log" | tr '\n' ' ')"
		return
	fi
	RSS0[$name]=$(awk -v v="$before" 'BEGIN{printf "%.1f", v / 1024}')
	RSS1[$name]=$(awk -v v="$after" 'BEGIN{printf "%.1f", v / 1024}')
	KPC[$name]=$(awk -v a="$after" -v b="$before" -v n="$opened" 'BEGIN{printf "%.2f", (a - b) / n}')
	ERR[idle,$name]=$((IDLE_CONNS - opened))
	log "$(printf 'idle     %-8s rss %s -> %s MiB with %s connections: %s KiB/conn' "$name" "${RSS0[$name]}" "${RSS1[$name]}" "$opened" "${KPC[$name]}")"
}

run_scenario() { # scenario name
	local sc=$1 name=$2 http="http://127.0.0.1:${HTTP_PORT[$2]}" https="https://127.0.0.1:${HTTPS_PORT[$2]}"
	case $sc in
	http) wrk_run http "$name" "$http/" -c"$CONNS" ;;
	https) wrk_run https "$name" "$https/" -c"$CONNS" ;;
	newconn) wrk_run newconn "$name" "$https/" -c"$CONNS" -H "Connection: close" ;;
	16k) wrk_run 16k "$name" "$http/16k" -c"$CONNS" ;;
	upload) wrk_run upload "$name" "$http/upload" -c"$UPLOAD_CONNS" -s "$HERE/upload.lua" ;;
	ws) ws_run "$name" ;;
	idle) idle_run "$name" ;;
	esac
}

# --- report ----------------------------------------------------------------

declare -A TITLE=(
	[http]="HTTP keep-alive, 2-byte responses (wrk -c$CONNS)"
	[https]="HTTPS keep-alive, 2-byte responses (wrk -c$CONNS)"
	[newconn]="HTTPS, new connection per request: full ECDSA P-256 handshakes (wrk -c$CONNS, Connection: close)"
	[16k]="HTTP keep-alive, 16 KiB responses (wrk -c$CONNS)"
	[upload]="HTTP keep-alive, 1 MiB POST uploads (wrk -c$UPLOAD_CONNS)"
	[ws]="WebSocket echo, 32-byte messages, $CONNS connections, one message in flight each (msgs/s)"
	[idle]="RSS with $IDLE_CONNS idle HTTP keep-alive client connections"
)

rows() {
	[[ $DIRECT == 1 ]] && echo direct
	echo $PROXIES
}

ratio() { # scenario name
	local a=${RPS[$1,$2]:-} b=${RPS[$1,nginx]:-}
	if [[ $a =~ ^[0-9]+$ && $b =~ ^[0-9]+$ && $b != 0 ]]; then
		awk -v a="$a" -v b="$b" 'BEGIN{printf "%.2f", a / b}'
	else
		echo -
	fi
}

# table FORMAT(md|text) scenario
table() {
	local fmt=$1 sc=$2 name cols
	if [[ $sc == idle ]]; then
		cols=("proxy" "RSS before (MiB)" "RSS with conns (MiB)" "KiB/conn" "vs nginx" "failed conns")
	else
		cols=("proxy" "$([[ $sc == ws ]] && echo msgs/s || echo req/s)" "p99 (ms)" "CPU µs/$([[ $sc == ws ]] && echo msg || echo req)" "vs nginx" "errors")
	fi
	if [[ $fmt == md ]]; then
		printf '| %s | %s | %s | %s | %s | %s |\n' "${cols[@]}"
		printf '|---|--:|--:|--:|--:|--:|\n'
	else
		printf '  %-8s %18s %20s %14s %9s %12s\n' "${cols[@]}"
	fi
	for name in $(rows); do
		local v
		if [[ $sc == idle ]]; then
			[[ -n ${KPC[$name]:-} ]] || continue
			local r=-
			if [[ ${KPC[$name]} =~ ^-?[0-9.]+$ && ${KPC[nginx]:-} =~ ^-?[0-9.]+$ ]]; then
				r=$(awk -v a="${KPC[$name]}" -v b="${KPC[nginx]}" 'BEGIN{ if (b > 0) printf "%.2f", a / b; else print "-" }')
			fi
			v=("$name" "${RSS0[$name]}" "${RSS1[$name]}" "${KPC[$name]}" "$r" "${ERR[idle,$name]}")
		else
			[[ -n ${RPS[$sc,$name]:-} ]] || continue
			v=("$name" "${RPS[$sc,$name]}" "${P99[$sc,$name]}" "${CPU[$sc,$name]}" "$(ratio "$sc" "$name")" "${ERR[$sc,$name]}")
		fi
		if [[ $fmt == md ]]; then
			printf '| %s | %s | %s | %s | %s | %s |\n' "${v[@]}"
		else
			printf '  %-8s %18s %20s %14s %9s %12s\n' "${v[@]}"
		fi
	done
}

versions() {
	echo "- nginx: $(nginx -v 2>&1 | sed 's/^nginx version: //')"
	echo "- haproxy: $(haproxy -v 2>/dev/null | head -1 | awk '{print $3}')"
	echo "- caddy: $(caddy version 2>/dev/null | head -1)"
	echo "- sluice: $(git -C "$ROOT" describe --always --dirty 2>/dev/null || echo unknown) ($("$TMP/sluice" version 2>/dev/null))"
	echo "- wrk: $(wrk -v 2>&1 | head -1 | awk '{print $2}'); $(go version | awk '{print $3}'); $(openssl version | awk '{print $1, $2}')"
}

write_report() {
	local md=$HERE/results/latest.md sc
	{
		echo "# sluice benchmark results"
		echo
		echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC')"
		echo "- machine: $(nproc) CPUs, $(awk -F': ' '/^model name/{print $2; exit}' /proc/cpuinfo), kernel $(uname -r)"
		echo "- runs: ${D}s measured after ${WARMUP}s warmup; proxies pinned to CPU $CPU_PROXY with one worker/thread" \
			"(GOMAXPROCS=1 for Go), backend and load generator pinned to CPU $CPU_LOAD; all traffic on 127.0.0.1"
		echo "- CPU µs/req is the proxy process's utime+stime over the measured run divided by requests;" \
			"for \"direct\" it is the backend's"
		versions
		for sc in $ALL_SCENARIOS; do
			[[ " $SCENARIOS " == *" $sc "* ]] || continue
			echo
			echo "## $sc: ${TITLE[$sc]}"
			echo
			table md "$sc"
		done
	} >"$md"
	echo
	for sc in $ALL_SCENARIOS; do
		[[ " $SCENARIOS " == *" $sc "* ]] || continue
		echo "$sc: ${TITLE[$sc]}"
		table text "$sc"
		echo
	done
	log "wrote $md"
}

# --- main ------------------------------------------------------------------

BACKEND_PG=""

start_backend() { # (re)starts the backend and waits until it answers
	if [[ -n $BACKEND_PG ]]; then
		stop_group "$BACKEND_PG"
		forget_group "$BACKEND_PG"
	fi
	start backend $CPU_LOAD env GOMAXPROCS=1 "$TMP/sluice-bench-backend" -addr "127.0.0.1:$BACKEND_PORT" \
		-tls-addr "127.0.0.1:$BACKEND_TLS_PORT" -cert "$TMP/cert.pem" -key "$TMP/key.pem"
	BACKEND_PG=$STARTED_PID
	PROXY_PG=$BACKEND_PG
	wait_ready direct || die "backend did not start: $(tail -5 "$TMP/backend.log")"
}

main() {
	install_packages
	ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null
	NOFILE=$(ulimit -n)
	if ((NOFILE < IDLE_CONNS + 1000)); then
		log "warning: open-file limit is $NOFILE; $IDLE_CONNS idle connections may not fit"
	fi
	TMP=$(mktemp -d /tmp/sluice-bench.XXXXXX)
	check_ports
	build
	write_configs
	mkdir -p "$HERE/results"
	: >"$RAW"

	start_backend

	local name sc
	for name in $(rows); do
		log "== $name"
		if ! kill -0 "$BACKEND_PG" 2>/dev/null; then
			log "warning: the backend died (killed by someone else?); restarting it"
			start_backend
		fi
		if ! start_proxy "$name"; then
			for sc in $SCENARIOS; do fail "$sc" "$name" "$name did not start"; done
			stop_proxy "$name"
			continue
		fi
		for sc in $ALL_SCENARIOS; do
			[[ " $SCENARIOS " == *" $sc "* ]] || continue
			if [[ $sc == idle ]]; then
				# A fresh process, so that earlier runs' buffers do not
				# hide (or inflate) the cost of the idle connections.
				if [[ $name == direct ]]; then
					start_backend
					PROXY_PG=$BACKEND_PG
				else
					stop_proxy "$name"
					start_proxy "$name" || { fail idle "$name" "$name did not restart"; continue; }
				fi
			fi
			run_scenario "$sc" "$name"
		done
		stop_proxy "$name"
	done
	write_report
}

main
