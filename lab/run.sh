#!/usr/bin/env bash
# Boot the lab's outer VM under pure emulation and report the outcome.
#
#   lab/run.sh -v amd|intel -k BZIMAGE -i INITRD -l LOG [-t TIMEOUT] [-c CPUS] [-m MiB]
#              [-S SYSTEM.MAP] [-a KERNEL-ARGS] [-e qemu|bochs] [-s] [-q]
#
#   -a  more arguments for the kernel's command line
#   -s  QEMU runs the CPUs on one host thread, in turn (thread=single):
#       for kernels that patch their own text while another CPU runs, as
#       Debian's do at every static key and tracepoint switch (see
#       lab/check.sh -f dist)
#
#   amd:   QEMU TCG, -cpu EPYC (SVM, nested paging; no NRIP-save, which
#          TCG refuses), or with -e bochs Bochs's ryzen model (SVM, nested
#          paging and NRIP-save, so KVM's SVM fastpath runs)
#   intel: Bochs, corei7_skylake_x (VMX, EPT, VPID), booted from an ISO
#
# The serial console goes to LOG (and to stdout unless -q). Exit status:
# 0 the payload passed, 1 it failed, 2 no result (panic, hang, timeout),
# 3 no result because the emulator stalled with an interrupt the guest's
# CPU would take pending (undelivered_irq in lab/lib.sh: the emulator's
# fault, not the guest's); a kernel oops, BUG or WARNING in the log also
# counts as a failure.
#
# A stall is caught early under QEMU: when the emulator has used less than
# 10 % of a CPU and the serial log has not grown for LAB_STALL seconds
# (default 60), the guest is halted with nothing left to wake it. QEMU's
# monitor then dumps every vCPU's registers (RIP symbolized against -S, the
# kernel's System.map), the local APIC and the PIC into LOG.stall, the
# guest gets an NMI to see whether it resumes, and the run ends with status
# 2, naming the test that was running. (Bochs emulates its idle loop, so
# its emulator is never idle.)
#
# A busy guest can hang too: CPUs going round with interrupts off keep the
# emulator busy. The outer VM's /init writes a heartbeat to the second
# serial port every second of its time; once one has come, a heartbeat and
# a console both silent for LAB_HEARTBEAT seconds (default 120 under QEMU,
# 600 under Bochs, whose guest time runs 50 to 100 times slower than the
# host's) is a hang, reported the same way, under either emulator
# (Bochs has no monitor: its report has the serial lines only).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"

vendor= kernel= initrd= log= timeout=600 cpus=2 mem=1024 quiet= tcg=multi sysmap= kargs= emulator=
stall_after=${LAB_STALL:-60}
heartbeat_after=${LAB_HEARTBEAT:-}
while getopts "v:k:i:l:t:c:m:S:a:e:qs" o; do
	case $o in
	v) vendor=$OPTARG ;; k) kernel=$OPTARG ;; i) initrd=$OPTARG ;;
	l) log=$OPTARG ;; t) timeout=$OPTARG ;; c) cpus=$OPTARG ;; m) mem=$OPTARG ;;
	q) quiet=1 ;; s) tcg=single ;; S) sysmap=$OPTARG ;; a) kargs=$OPTARG ;;
	e) emulator=$OPTARG ;;
	*) die "usage: lab/run.sh -v amd|intel -k BZIMAGE -i INITRD -l LOG [-t S] [-c N] [-m MiB] [-S MAP] [-a ARGS] [-e qemu|bochs] [-s] [-q]" ;;
	esac
done
[ -n "$vendor" ] && [ -n "$kernel" ] && [ -n "$initrd" ] && [ -n "$log" ] || die "lab/run.sh needs -v, -k, -i and -l"
case $vendor/${emulator:-default} in
amd/default | amd/qemu) emulator=qemu ;;
amd/bochs | intel/default | intel/bochs) emulator=bochs ;;
*) die "no emulator '$emulator' for $vendor (amd: qemu or bochs; intel: bochs)" ;;
esac
[ -f "$kernel" ] || die "kernel $kernel not found"
[ -f "$initrd" ] || die "initrd $initrd not found"
# Linux 7.3 oopses as it boots on Bochs's corei7_skylake_x: a NULL
# dereference in prepare_creds() from rest_init(), the first fork, as if
# init_task's credentials were zero. It is the oops the lab's 7.3 has as a
# guest of nested KVM (inner_kernel in lab/lib.sh), where the log shows its
# xstate check turning XSAVE off just before. With noxsave (no XSAVE from
# the start) it boots, the lab's kernel and Debian's alike; no test here
# depends on XSAVE. So a 7.3 image (its release, in the image's setup
# header) gets noxsave on Intel, whoever boots it.
if [ "$vendor" = intel ]; then
	case $(image_release "$kernel") in
	7.3 | 7.3.*) kargs="${kargs:+$kargs }noxsave" ;;
	esac
fi
# Bochs 2.7's ryzen model loses a task's AVX registers at every context
# switch where Linux saves them with XSAVES or XSAVEC: after the switch
# back, ymm0-15 read zero (6.1 and 6.12; SSE-only state survives; noxsaves,
# which leaves XSAVEC, does not help). glibc's string functions use AVX2,
# so a program preempted inside one goes on with zeros: CI lost a run to a
# segmentation fault of test_exit_stats_fastpath (its TLS read as zero),
# and a boot's shell misread lib-guest.sh. With noxsave Linux saves with
# FXSAVE and offers no AVX; tests/lab/test_vector_state checks each boot.
if [ "$vendor/$emulator" = amd/bochs ]; then
	kargs="${kargs:+$kargs }noxsave"
fi
# nokaslr: a stalled vCPU's RIP can be looked up in System.map as it is.
cmdline="console=ttyS0,115200 panic=-1 oops=panic loglevel=4 nokaslr${kargs:+ $kargs}"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
: > "$log"
if [ -z "$quiet" ]; then tail -n +1 -f "$log" --pid=$$ & fi

# host_tsc_khz: the host's TSC rate, from its kernel log or /proc/cpuinfo.
host_tsc_khz() {
	local log mhz
	log=$(dmesg 2>/dev/null || true)
	mhz=$(sed -n -E 's/.*tsc: Refined TSC clocksource calibration: ([0-9]+\.[0-9]+) MHz.*/\1/p' <<<"$log" | tail -1)
	[ -n "$mhz" ] || mhz=$(sed -n -E 's/.*tsc: Detected ([0-9]+\.[0-9]+) MHz.*/\1/p' <<<"$log" | tail -1)
	[ -n "$mhz" ] || mhz=$(sed -n -E 's/^cpu MHz[[:space:]]*: ([0-9]+\.[0-9]+)$/\1/p' /proc/cpuinfo | head -1)
	[ -n "$mhz" ] && awk -v m="$mhz" 'BEGIN { printf "%d\n", m * 1000 }'
}

case $emulator in
qemu)
	# python3 speaks to QEMU's monitor (monitor, below) on a stall.
	need_pkgs python3
	# LAB_QEMU=13: Debian 13's QEMU (10.0), run from the Debian 13 system in
	# the cache (debian13_qemu in lab/lib.sh); otherwise the system's (7.2).
	case ${LAB_QEMU:-12} in
	12) need_pkgs qemu-system-x86; qemu=(qemu-system-x86_64) ;;
	13) mapfile -t qemu < <(debian13_qemu) && [ "${#qemu[@]}" -gt 1 ] || die "no Debian 13 QEMU" ;;
	*) die "LAB_QEMU=${LAB_QEMU}: want 12 (the system's QEMU) or 13 (Debian 13's)" ;;
	esac
	# Under TCG the outer VM's TSC runs at the host's rate, and on a busy
	# host the outer kernel's calibration against the PIT can fail: it then
	# has no TSC frequency, and KVM spins in its first KVM_RUN
	# (kvm_guest_time_update() asks for a clock update forever). Give the
	# kernel the rate, as tsc_early_khz=, so that it does not calibrate.
	khz=$(host_tsc_khz || true)
	[ -n "$khz" ] && [ "$khz" -gt 0 ] && cmdline+=" tsc_early_khz=$khz"
	emu=("${qemu[@]}" -accel "tcg,thread=$tcg" -cpu EPYC -smp "$cpus" -m "$mem"
		-kernel "$kernel" -initrd "$initrd" -append "$cmdline"
		-name lab,debug-threads=on -display none -monitor "unix:$work/monitor,server=on,wait=off"
		-serial "file:$log" -serial "file:$work/heartbeat" -no-reboot -nodefaults)
	;;
bochs)
	# Bochs's ryzen model offers MWAITX, and Linux then waits in its early
	# udelay()s with a timed MWAITX (delay_halt_mwaitx, from init_8259A,
	# with interrupts off) whose timer Bochs never fires: the kernel hangs
	# before its console is up. mwait_is_nop=1 makes MONITOR/MWAIT(X) and
	# their timers no-ops.
	case $vendor in
	amd) cpu="model=ryzen, count=$cpus, ips=50000000, reset_on_triple_fault=0, mwait_is_nop=1" ;;
	*) cpu="model=corei7_skylake_x, count=$cpus, ips=50000000, reset_on_triple_fault=0" ;;
	esac
	need_pkgs bochs bochsbios vgabios isolinux syslinux-common xorriso
	mkdir -p "$work/iso/isolinux"
	cp /usr/lib/ISOLINUX/isolinux.bin /usr/lib/syslinux/modules/bios/ldlinux.c32 "$work/iso/isolinux/"
	cp "$kernel" "$work/iso/bzImage"
	cp "$initrd" "$work/iso/initrd.gz"
	printf 'default lab\nprompt 0\nlabel lab\n  kernel /bzImage\n  append initrd=/initrd.gz %s\n' \
		"$cmdline" > "$work/iso/isolinux/isolinux.cfg"
	xorriso -as mkisofs -quiet -o "$work/lab.iso" -b isolinux/isolinux.bin -c isolinux/boot.cat \
		-no-emul-boot -boot-load-size 4 -boot-info-table "$work/iso" 2>"$work/xorriso.log" ||
		{ cat "$work/xorriso.log" >&2; die "xorriso failed"; }
	cat > "$work/bochsrc" <<-RC
	megs: $mem
	cpu: $cpu
	romimage: file=/usr/share/bochs/BIOS-bochs-latest
	vgaromimage: file=/usr/share/vgabios/vgabios.bin
	ata0-master: type=cdrom, path=$work/lab.iso, status=inserted
	boot: cdrom
	com1: enabled=1, mode=file, dev=$work/com1
	com2: enabled=1, mode=file, dev=$work/heartbeat
	display_library: rfb, options="timeout=0"
	sound: driver=dummy
	speaker: enabled=0
	clock: sync=none, time0=1
	log: $work/bochs.log
	panic: action=fatal
	error: action=ignore
	info: action=ignore
	debug: action=ignore
	RC
	ln -s "$(realpath "$log")" "$work/com1"
	echo c > "$work/rc"
	emu=(bochs -q -f "$work/bochsrc" -rc "$work/rc")
	;;
esac
case $emulator in
qemu) heartbeat_after=${heartbeat_after:-120} ;;
*) heartbeat_after=${heartbeat_after:-600} ;;
esac

# monitor CMD...: QEMU's human monitor, one command after another, with
# its terminal escapes and prompts taken out.
monitor() {
	python3 - "$work/monitor" "$@" <<-'PY'
	import re, socket, sys
	s = socket.socket(socket.AF_UNIX)
	s.connect(sys.argv[1])
	s.settimeout(3)
	def read():
	    buf = b""
	    try:
	        while not buf.endswith(b"(qemu) "):
	            d = s.recv(65536)
	            if not d:
	                break
	            buf += d
	    except socket.timeout:
	        pass
	    text = re.sub(r"\x1b\[[0-9;]*[A-Za-z]|\r", "", buf.decode(errors="replace"))
	    return text.replace("(qemu) ", "")
	read()
	for cmd in sys.argv[2:]:
	    s.sendall(cmd.encode() + b"\n")
	    out = read().split("\n", 1)
	    print("(qemu) " + cmd)
	    print(out[1] if len(out) > 1 else out[0], end="")
	PY
}

# symbolize: each RIP=ADDR of the monitor's dump, with its symbol+offset
# from System.map (-S).
symbolize() {
	grep -o -E 'RIP=[0-9a-fA-F]{16}' | sort -u | while read -r r; do
		a=$(echo "${r#RIP=}" | tr A-F a-f)
		if [ "${a#ffff}" = "$a" ]; then
			echo "RIP $a: user space"
		elif [ -n "$sysmap" ] && [ -f "$sysmap" ]; then
			read -r sym base < <(awk -v a="$a" 'length($1) == 16 && $1 <= a { s = $3; b = $1 }
				END { print s, b }' "$sysmap")
			if [ "$(wc -l < "$sysmap")" -lt 10 ]; then
				# Debian ships a stub; its symbols are in linux-image-*-dbg
				echo "RIP $a: no symbols in $sysmap: $(head -c 120 "$sysmap")"
			elif [ -n "$sym" ]; then
				printf 'RIP %s: %s+0x%x\n' "$a" "$sym" $((0x$a - 0x$base))
			else
				echo "RIP $a: no symbol"
			fi
		else
			echo "RIP $a (no System.map given)"
		fi
	done
}

# emu_ticks: CPU time the emulator has used, in clock ticks.
emu_ticks() { awk '{ print $14 + $15 }' "/proc/$emu_pid/stat" 2>/dev/null || echo 0; }

# qemu_threads: each thread of the emulator, from /proc.
qemu_threads() {
	local t
	for t in /proc/"$emu_pid"/task/*; do
		printf '%s %s: %s, wchan %s, syscall %s\n' "${t##*/}" \
			"$(cat "$t/comm" 2>/dev/null)" \
			"$(sed -E 's/^.*\) ([A-Za-z]).*/\1/' "$t/stat" 2>/dev/null)" \
			"$(cat "$t/wchan" 2>/dev/null || echo ?)" \
			"$(cut -d' ' -f1 "$t/syscall" 2>/dev/null || echo ?)"
	done
}

# qemu_dump: every vCPU's registers, the local APICs and the PIC from QEMU's
# monitor, the RIPs symbolized; then an NMI, and whether the guest resumes.
qemu_dump() {
	local size
	echo "---- vCPU state (QEMU monitor) ----"
	monitor "info registers -a" "info lapic" "info pic" > "$work/dump" 2>&1 || true
	cat "$work/dump"
	echo "---- RIP against ${sysmap:-no System.map} ----"
	symbolize < "$work/dump"
	# Where each of QEMU's host threads is: a vCPU thread asleep in futex
	# (syscall 202) while its CPU has an interrupt to take is QEMU's
	# lost wakeup; one running (R) is busy in the guest.
	echo "---- QEMU's threads: name, state, kernel wait channel, syscall ----"
	qemu_threads
	size=$(stat -c %s "$log")
	monitor nmi > /dev/null 2>&1 || true
	sleep 20
	if [ "$(stat -c %s "$log")" != "$size" ]; then
		echo "lab: after an NMI the guest printed (its CPU takes NMIs; the registers above say whether it was halted, or running and with interrupts on or off):"
		tail -c +"$((size + 1))" "$log" | tr -d '\r' | head -20
	else
		echo "lab: after an NMI the guest stayed silent (its CPU takes no interrupt at all)"
		# The emulator's fault only if the same undelivered interrupt
		# is still there 20 s later: one dump can catch a timer that
		# has just fired, an instant before it is delivered.
		monitor "info registers -a" "info lapic" > "$work/dump2" 2>&1 || true
		if why=$(undelivered_irq "$work/dump") && [ "$(undelivered_irq "$work/dump2")" = "$why" ]; then
			echo "lab: EMULATOR FAULT: $why, in two dumps 20 s apart"
			touch "$work/emu-fault"
		fi
	fi
}

# stall_report WHY: what a stalled guest was doing, into LOG.stall and
# stderr.
stall_report() {
	{
		echo "lab: STALL ($vendor): $1, $SECONDS s into the run"
		echo "lab: the test that was running: $(tr -d '\r' < "$log" | sed -n 's/^lab: running //p' | tail -1)"
		echo "---- last serial lines ----"
		tail -n 15 "$log" | tr -d '\r'
		[ "$emulator" != qemu ] || qemu_dump
	} > "$log.stall" 2>&1
	cat "$log.stall" >&2
}

# The outer VM prints a result line and halts; the run ends when that line
# (or a panic) is in the log, when the emulator exits, at a stall, or at
# the timeout.
(cd "$work" && exec "${emu[@]}" </dev/null >"$work/emu.log" 2>&1) &
emu_pid=$!
status=running
deadline=$((SECONDS + timeout))
quiet_since=$SECONDS last_size=-1 last_ticks=0 next_sample=$SECONDS
alive_since=$SECONDS last_log=-1 last_beat=0
rm -f "$log.stall"
while kill -0 "$emu_pid" 2>/dev/null; do
	if grep -q -E '^LAB-RESULT:|Kernel panic|reboot: (System halted|Power down|Restarting system)' "$log"; then
		sleep 3	# let the serial port drain
		status=done
		break
	fi
	if [ "$SECONDS" -ge "$deadline" ]; then
		status=timeout
		break
	fi
	# Every 5 s: busy (more than 10 % of a CPU: 50 of 500 ticks) or
	# printing means it is alive. (An idle guest's QEMU used 2 to 5 % on a
	# host with five emulators and compilers on two cores, where 5 % let
	# the lab self-test's stalled guest go on to its timeout; a running
	# guest keeps QEMU near 100 %.)
	if [ "$emulator" = qemu ] && [ "$SECONDS" -ge "$next_sample" ]; then
		size=$(stat -c %s "$log") ticks=$(emu_ticks)
		if [ "$size" != "$last_size" ] || [ $((ticks - last_ticks)) -gt $(( (SECONDS - next_sample + 5) * 10 )) ]; then
			quiet_since=$SECONDS
		fi
		last_size=$size last_ticks=$ticks next_sample=$((SECONDS + 5))
		if [ $((SECONDS - quiet_since)) -ge "$stall_after" ]; then
			stall_report "the emulator idle and the serial log silent for ${stall_after} s"
			status=stall
			break
		fi
	fi
	# The heartbeat, once it has started: it or the console must move.
	log_size=$(stat -c %s "$log") beat=$(stat -c %s "$work/heartbeat" 2>/dev/null || echo 0)
	if [ "$log_size" != "$last_log" ] || [ "$beat" != "$last_beat" ] || [ "$beat" = 0 ]; then
		alive_since=$SECONDS last_log=$log_size last_beat=$beat
	elif [ $((SECONDS - alive_since)) -ge "$heartbeat_after" ]; then
		stall_report "the guest's heartbeat and serial log silent for ${heartbeat_after} s"
		status=stall
		break
	fi
	sleep 0.5
done
if kill "$emu_pid" 2>/dev/null; then sleep 1; kill -9 "$emu_pid" 2>/dev/null || true; fi
wait "$emu_pid" 2>/dev/null || true
[ -s "$work/heartbeat" ] || [ "$status" != done ] || ! grep -q '^LAB-RESULT:' "$log" ||
	echo "lab: no heartbeat came from the guest ($vendor): only the idle check watched this run" >&2
[ "$status" = timeout ] && echo "lab: TIMEOUT after ${timeout}s ($vendor)" | tee -a "$log" >&2
[ "$status" = stall ] && echo "lab: STALL after ${SECONDS}s ($vendor); state dump in $log.stall" | tee -a "$log" >&2

# The kernel's check of its 8254 timer as it boots (check_timer) wants
# more than 4 ticks within a busy wait 10 ticks long; a QEMU that waits for
# a core on a busy host delivers them late, and the kernel panics: "IO-APIC
# + timer doesn't work!" (the lab self-tests of a make check run beside the
# soak, five emulators and compilers on two cores). The timer works; the
# host was busy. Like the emulator's fault above: status 3, and
# lab/check.sh boots once more. (no_timer_check would skip the check, but
# it changes the guest's timer set-up, and a try with it did not tell
# whether it moves an idle guest's CPU use, which the idle-stall check
# above reads, near its threshold: the retry leaves the guest as it is.)
if grep -q "IO-APIC + timer doesn't work" "$log"; then
	echo "lab: EMULATOR FAULT: the kernel's timer check failed as it booted (IO-APIC + timer doesn't work): the host was too busy" |
		tee "$log.stall" >&2
	exit 3
fi

# Sanitizer reports too: KASAN and sleeping-in-atomic say BUG:, lockdep
# WARNING:, kmemleak "unreferenced object" (tests/lab/reliability-payload.sh).
# lab/known-reports lists reports from outside KVM that do not count.
# With grep -f, an empty list matches no report (an empty -e would match
# every one).
problems='Kernel panic|BUG:|Oops|WARNING:|UBSAN:|KASAN:|unreferenced object'
known=$work/known
sed '/^#/d; /^$/d' "${LAB_KNOWN_REPORTS:-$here/known-reports}" > "$known"
# No grep -q at the end of these pipes: with pipefail, an early exit of
# grep -q can kill the grep before it with SIGPIPE, and the pipe then
# fails although it matched.
if grep -E "$problems" "$log" | grep -E -f "$known" >/dev/null; then
	echo "lab: known report(s) from outside KVM, not counted (lab/known-reports):" >&2
	grep -E "$problems" "$log" | grep -E -f "$known" | sort | uniq -c >&2
fi
if grep -E "$problems" "$log" | grep -v -E -f "$known" >/dev/null; then
	echo "lab: the outer kernel reported a problem ($vendor):" >&2
	grep -E -A5 "$problems" "$log" | head -40 >&2
	exit 1
fi
grep -q '^LAB-RESULT: PASS' "$log" && exit 0
grep -q '^LAB-RESULT: FAIL' "$log" && exit 1
echo "lab: no result from the outer VM ($vendor, run $status); emulator said:" >&2
tail -5 "$work/emu.log" >&2
[ "$status" = stall ] && [ -f "$work/emu-fault" ] && exit 3
exit 2
