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
inner_vm_start 160 ""
inner_vm_end; rc=$?
sed -n '/^== inner VM/,/^INNER-RESULT/p' /tmp/inner.txt
[ "$rc" = 0 ] || { echo "the inner VM failed:"; tail -30 /tmp/inner.txt; exit 1; }
echo "== 5. what the patch logged in the outer VM (dmesg | grep cpuid)"
dmesg | grep 'cpuid 0x4ffffff' | tail -8 | sed 's/^\[[ 0-9.]*\] /  /'
kvm_unload
