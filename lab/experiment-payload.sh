# The paging experiment inside the outer VM: for nested paging on and off,
# REPS inner VMs each boot and run the workload; the host-side view of each
# is read while it still runs, after the workload.
REPS=1
WORK=64,300,16
P=$(paging_param)
for pg in 1 0; do
	kvm_load test "" "$P=$pg" || exit 1
	i=0
	while [ $i -lt $REPS ]; do
		i=$((i + 1))
		qemu-system-x86_64 -accel kvm -cpu host -m 256 -smp 1 -nodefaults -no-reboot \
			-display none -serial stdio -L /inner/share -kernel /inner/bzImage \
			-initrd /inner/initrd.gz -append "console=ttyS0 panic=-1 loglevel=3 exp=$WORK" \
			> /tmp/inner.log 2>&1 &
		q=$!
		n=0
		while ! grep -q EXP-MARK /tmp/inner.log && kill -0 $q 2>/dev/null && [ $n -lt 3000 ]; do
			sleep 1; n=$((n + 1))
		done
		host=$(cat /sys/kernel/debug/kvm/*/exit_stats 2>/dev/null | awk '/^[0-9]|^total/ { printf "%s %s %s;", $1, $2, $3 }')
		wait $q
		tr -d '\r' < /tmp/inner.log | grep '^exp_workload:'
		tr -d '\r' < /tmp/inner.log | sed -n -e "s/^EXP-BOOT /EXP $P=$pg $i BOOT /p" \
			-e "s/^EXP-WORK /EXP $P=$pg $i WORK /p"
		echo "EXP $P=$pg $i HOST $host"
		tr -d '\r' < /tmp/inner.log | grep -q '^INNER-RESULT: PASS' || { tail -20 /tmp/inner.log; exit 1; }
	done
	kvm_unload || exit 1
done
