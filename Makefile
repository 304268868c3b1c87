# kvm-exitstat: one entry point per user action; each is a thin call into
# a script that can also be run alone.
# The lab's kernel lines; Debian 12 ships kernels of the first two, which
# the distribution suites, the host modules and the benchmark use, and
# Debian 13 kernels of the last two (7.3 in trixie-backports).
KERNELS ?= 6.1 6.12 7.3
DIST_KERNELS ?= 6.1 6.12
DIST13_KERNELS ?= 6.12 7.3
VENDORS ?= amd intel
VENDOR  ?= amd
KERNEL  ?= 6.1

.PHONY: all demo check check-quick check-fresh soak mutate experiment bench check-lab check-dist check-patches kernels \
	host-modules install-host uninstall-host deb apply series clean

all: check

demo:
	@bash lab/demo.sh -v $(VENDOR) -k $(KERNEL)

# Lines whose Intel boots (Bochs, 15 to 25 minutes of one core each) make
# check leaves to make soak: none by default. Lines whose Intel boot in make
# check tests nested paging (EPT) alone, and make soak both paging modes:
# every line after the first.
SOAK_INTEL_KERNELS ?=
INTEL_EPT_ONLY ?= $(wordlist 2,$(words $(KERNELS)),$(KERNELS))
check:
	@bash tests/check.sh -k "$(KERNELS)" -v "$(VENDORS)" -d "$(DIST_KERNELS)" -D "$(DIST13_KERNELS)" \
		-s "$(SOAK_INTEL_KERNELS)" -e "$(INTEL_EPT_ONLY)"

# The edit-test loop: unit tests, patch checks and in-lab tests on AMD for
# the first of KERNELS.
check-quick:
	@bash tests/check.sh -q -k "$(KERNELS)" -v amd

# CI's command on a new Debian 12 system (a chroot made with debootstrap:
# nothing installed, nothing cached), FRESH_RUNS times in a row: the first
# run cold, the others warm. Root only.
FRESH_RUNS ?= 2
check-fresh:
	@bash tests/fresh.sh -n $(FRESH_RUNS)

# The long suites: each patch built alone, then each prefix of the series
# booted and run (lab/bisect.sh); then Debian 12's and 13's own kernels on
# Intel, under Bochs, and the whole in-lab tests on Intel of the lines make
# check tests with EPT alone or leaves out (INTEL_EPT_ONLY,
# SOAK_INTEL_KERNELS; check-dist and check-lab run them alone).
soak:
	@bash kernel/check-patches.sh -e $(KERNELS)
	@bash lab/bisect.sh -k "$(KERNELS)" -v "$(VENDORS)"
	@bash lab/mutate.sh
	@bash lab/reliability.sh -s -k $(KERNEL) -v "$(VENDORS)"
	@bash lab/check.sh -k "$(DIST_KERNELS)" -v intel -f dist
	@bash lab/check.sh -k "$(DIST13_KERNELS)" -v intel -f dist13
	@[ -z "$(strip $(INTEL_EPT_ONLY) $(SOAK_INTEL_KERNELS))" ] || \
		bash lab/check.sh -k "$(strip $(INTEL_EPT_ONLY) $(SOAK_INTEL_KERNELS))" -v intel
	@LAB_EMU_RETRY=0 bash lab/repeat.sh 20 bash lab/check.sh -k 6.1 -v amd -f dist-cloud

# Mutations of the series, each against the tests that should catch it.
mutate:
	@bash lab/mutate.sh

experiment:
	@bash lab/experiment.sh -v "$(VENDORS)"

bench:
	@bash lab/bench.sh -k "$(DIST_KERNELS)" -v "$(VENDORS)"

check-patches:
	@bash kernel/check-patches.sh $(KERNELS)

check-lab:
	@bash lab/check.sh -k "$(KERNELS)" -v "$(VENDORS)"

# Debian's own kernel images in the lab, with the modules the DKMS package
# builds for them (FLAVOUR=dist-cloud for Debian 12's cloud images,
# FLAVOUR=dist13 for Debian 13's kernels, DIST13_KERNELS).
FLAVOUR ?= dist
check-dist:
	@bash lab/check.sh -k "$(if $(filter dist13,$(FLAVOUR)),$(DIST13_KERNELS),$(DIST_KERNELS))" \
		-v "$(VENDORS)" -f $(FLAVOUR)

# Real hosts: the patched KVM for the kernel whose headers are KDIR.
KDIR ?= /lib/modules/$(shell uname -r)/build
host-modules:
	@bash kernel/host-modules.sh $(KDIR)

install-host: host-modules
	@bash kernel/install-host.sh install -K $(KDIR)

uninstall-host:
	@bash kernel/install-host.sh uninstall

deb:
	@bash kernel/deb.sh

# The assignment's flow on your own tree: the series for TREE's version,
# as commits in a git tree (git am), else with patch -p1. Then, in TREE:
# make modules M=arch/x86/kvm.
apply:
	@test -n "$(TREE)" || { echo "usage: make apply TREE=DIR (a Linux source tree)" >&2; exit 2; }
	@bash kernel/apply.sh $(TREE)

# Each line's series (kernel/patches/LINE/) from the shared core and the
# line's hooks (kernel/series/); make check fails if they differ.
series:
	@bash kernel/series.sh build

kernels:
	@for k in $(KERNELS); do bash kernel/build.sh $$k patched || exit 1; done

clean:
	rm -rf build tests/lab/build
