FUNCX_LAUNCH_COUNT=3
FUNCX_LAUNCH_PIDS=()
FUNCX_LAUNCH_STATUS=0
funcx_launch_command() {
	trap : TERM INT HUP
funcx-manager --block "$BLOCK" --addr 'host:5000'
}
funcx_launch_stop() {
	trap '' TERM INT HUP
	kill -TERM 0 2>/dev/null
	wait
	exit 143
}
trap funcx_launch_stop TERM INT HUP
export FUNCX_LAUNCH_RANK
for ((FUNCX_LAUNCH_RANK = 0; FUNCX_LAUNCH_RANK < FUNCX_LAUNCH_COUNT; FUNCX_LAUNCH_RANK++)); do
	funcx_launch_command &
	FUNCX_LAUNCH_PIDS+=($!)
done
for FUNCX_LAUNCH_PID in "${FUNCX_LAUNCH_PIDS[@]}"; do
	wait "$FUNCX_LAUNCH_PID"
	FUNCX_LAUNCH_CODE=$?
	if [ "$FUNCX_LAUNCH_STATUS" -eq 0 ] && [ "$FUNCX_LAUNCH_CODE" -ne 0 ]; then
		FUNCX_LAUNCH_STATUS=$FUNCX_LAUNCH_CODE
	fi
done
exit "$FUNCX_LAUNCH_STATUS"
