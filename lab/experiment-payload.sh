# The paging experiment inside the outer VM: for nested paging on and off,
# REPS inner VMs each boot and run the workload; the host-side view of each
# is read while it still runs, after the workload.
REPS=1
WORK=64,300,16
P=$(paging_param)
INNER_TIMEOUT=3600
for pg in 1 0; do
	kvm_load test "" "$P=$pg" || exit 1
	i=0
	while [ $i -lt $REPS ]; do
		i=$((i + 1))
		inner_vm_start 256 "exp=$WORK"
		inner_vm_wait_for EXP-MARK || { echo "experiment: the inner VM never reached EXP-MARK"; tail -20 /tmp/inner.log; exit 1; }
		host=$(cat /sys/kernel/debug/kvm/*/exit_stats 2>/dev/null | awk '/^[0-9]|^total/ { printf "%s %s %s;", $1, $2, $3 }')
		inner_vm_say go
		inner_vm_end || { tail -20 /tmp/inner.txt; exit 1; }
		grep '^exp_workload:' /tmp/inner.txt
		sed -n -e "s/^EXP-BOOT /EXP $P=$pg $i BOOT /p" -e "s/^EXP-WORK /EXP $P=$pg $i WORK /p" /tmp/inner.txt
		echo "EXP $P=$pg $i HOST $host"
	done
	kvm_unload || exit 1
done
