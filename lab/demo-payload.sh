# The demo, inside the outer VM: the assignment's steps, printed as they run.
m=$(vendor_mod | tr - _)
echo "== 1. the distribution's KVM modules, as a stock system has them"
kvm_load stock || exit 1
say lsmod; lsmod
echo "== 2. out with the stock modules (the assignment: rmmod $m, rmmod kvm)"
kvm_unload || exit 1
echo "== 3. in with the patched ones, logging each query to dmesg"
kvm_load test "exit_stats_log=1" || exit 1
echo "== 4. an inner Linux VM under QEMU -accel kvm reads its exit statistics"
say "qemu-system-x86_64 -accel kvm -cpu host -m 160 -kernel bzImage -initrd inner.gz ..."
timeout 600 qemu-system-x86_64 -accel kvm -cpu host -m 160 -smp 1 -nodefaults -no-reboot \
	-display none -serial stdio -L /inner/share -kernel /inner/bzImage -initrd /inner/initrd.gz \
	-append "console=ttyS0 panic=-1 loglevel=3" > /tmp/inner.log 2>&1
rc=$?
sed -n '/^== inner VM/,/^INNER-RESULT/p' /tmp/inner.log | tr -d '\r'
grep -q '^INNER-RESULT: PASS' /tmp/inner.log || { echo "the inner VM failed (qemu status $rc):"; tail -30 /tmp/inner.log; exit 1; }
echo "== 5. what the patch logged in the outer VM (dmesg | grep cpuid)"
dmesg | grep 'cpuid 0x4ffffff' | tail -8 | sed 's/^\[[ 0-9.]*\] /  /'
kvm_unload
