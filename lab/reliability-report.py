#!/usr/bin/env python3
"""Write docs/results/reliability.md from the logs of `lab/reliability.sh -s`.

    reliability-report.py --kernel K --seconds S --summary SUMMARY
                          --fuzz-log GUEST_FUZZ_LOG LAB-LOG...

Every figure comes from the logs: the outer VMs' serial logs (one per
vendor, lab-<kernel>-san-<vendor>.log), the runner's summary and the
libFuzzer output. A figure a log does not have is printed as "missing" and
makes the report say so.
"""
import argparse
import os
import re
import sys

PROBLEMS = re.compile(r"Kernel panic|BUG:|Oops|WARNING:|UBSAN:|KASAN:|unreferenced object")


def known_patterns():
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "known-reports")
    with open(path) as f:
        return [re.compile(line.strip()) for line in f
                if line.strip() and not line.startswith("#")]


def first(pattern, text, cast=int):
    m = re.search(pattern, text, re.M)
    if not m:
        return None
    return tuple(cast(g) for g in m.groups()) if len(m.groups()) > 1 else cast(m.group(1))


def fmt(v):
    if v is None:
        return "missing"
    return f"{v:,}" if isinstance(v, int) else str(v)


def vendor_facts(path):
    text = open(path, errors="replace").read().replace("\r", "")
    name = os.path.basename(path)
    vendor = "amd" if name.endswith("-amd.log") else "intel"
    f = {"vendor": vendor, "log": name}
    full = text
    # the figures of the reliability tests, not of their small runs in payload.sh
    text = "\n".join(line for line in full.splitlines()
                     if re.match(r"(\[reliability/|reliability:|LAB-TEST: reliability/|"
                                 r"lab: reliability/)", line))
    f["fuzz_k"] = first(r"# (\d+) CPUIDs, seed", text)
    f["fuzz_seed"] = first(r"CPUIDs, seed (0x[0-9a-f]+)", text, str)
    f["fuzz_queries"] = first(r"# (\d+) queries \(leaves", text)
    d = first(r"# deviations (\d+) \(decreases (\d+), wrong CPUID counts (\d+)\); "
              r"values that passed 2\^32: (\d+); total cycles (\d+)", text)
    if d:
        (f["fuzz_dev"], f["fuzz_dec"], f["fuzz_wrong"], f["fuzz_2_32"],
         f["fuzz_cycles"]) = d
    f["fuzz_ok"] = "LAB-TEST: reliability/fuzz" in text and re.search(
        r"LAB-TEST: reliability/fuzz .* failed=0 rc=0", text) is not None

    vms = re.findall(r"# VM (\d): CPUID (\d+) \(expected (\d+), reader's last (\d+)\), "
                     r"I/O (\d+) \(expected (\d+), user space saw (\d+)\), HLT (\d+) "
                     r"\(expected (\d+), timer interrupts (\d+)\), R?D?MSR (\d+) "
                     r"\(expected (\d+)\)", text)
    tot = re.findall(r"# VM (\d): total (\d+), KVM exits stats (\d+); reader: (\d+) rounds, "
                     r"(\d+) decreases", text)
    f["stress_k"] = first(r"# 2 VMs at once, 4 workers x (\d+) iterations", text)
    f["stress_exits"] = sum(int(t[1]) for t in tot) if tot else None
    f["stress_mismatch"] = (sum(int(v[1]) != int(v[2]) or int(v[4]) != int(v[5]) or
                                int(v[7]) != int(v[8]) or int(v[10]) != int(v[11])
                                for v in vms) +
                            sum(int(t[1]) != int(t[2]) for t in tot)) if vms else None
    f["stress_reads"] = sum(3 * int(t[3]) for t in tot) if tot else None
    f["stress_dec"] = sum(int(t[4]) for t in tot) if tot else None
    f["stress_ok"] = re.search(r"LAB-TEST: reliability/stress .* failed=0 rc=0", text) is not None
    if f["stress_k"]:
        # per worker: CPUID + OUT + RDMSR each iteration, a HLT every 8th
        f["stress_per_vcpu"] = 3 * f["stress_k"] + f["stress_k"] // 8

    lc = first(r"# (\d+) VMs \((\d+) one after another, the rest from (\d+) threads\), "
               r"(\d+) CPUIDs, (\d+) exits; (\d+) read a wrong count", text)
    if lc:
        f["life_vms"], f["life_seq"], _, f["life_cpuids"], f["life_exits"], f["life_wrong"] = lc
    g = first(r"# global: (\d+) VMs; CPUID count \+(\d+) \(their CPUIDs (\d+) \+ 2\); "
              r"total \+(\d+) \(their exits (\d+) \+ 3, probe's other exits <= (\d+)\)", text)
    if g:
        vms_g, dc, c, dt, e, s = g
        f["glob_vms"] = vms_g
        f["glob_cpuid_off"] = dc - c - 2
        f["glob_total_off"] = dt - e - 3
        f["glob_slack"] = s
    f["life_ok"] = len(re.findall(r"LAB-TEST: reliability/lifecycle .* failed=0 rc=0", text))

    r = first(r"reliability: (\d+) loads, (\d+) started from zero, (\d+) did not", text)
    if r:
        f["reloads"], f["reload_good"], f["reload_bad"] = r
    f["leaks"] = first(r"reliability: kmemleak: (\d+) suspected leaks", text)
    # "lab: NAME took 196.05 s, ends at uptime 591.97 s" (lab/lib-guest.sh)
    f["took"] = {m.group(1): round(float(m.group(2))) for m in
                 re.finditer(r"^lab: (reliability/[^\n]*?) took (\d+(?:\.\d+)?) s(?:, ends at uptime [\d.]+ s)?\r?$",
                             text, re.M)}
    # host (wall-clock) time: from the vendor's settings file, written when
    # its run starts, to the last line of its serial log
    env = os.path.join(os.path.dirname(path), "reliability.env")
    f["host_s"] = (int(os.path.getmtime(path) - os.path.getmtime(env))
                   if os.path.exists(env) else None)
    f["sanitizers"] = "LAB-TEST: reliability/sanitizers on (KASAN, lockdep, kmemleak) passed=1" in text

    known = known_patterns()
    lines = [line for line in full.splitlines() if PROBLEMS.search(line)]
    f["reports_known"] = [line for line in lines if any(k.search(line) for k in known)]
    f["reports"] = [line for line in lines if not any(k.search(line) for k in known)]
    return f


def verdict(facts, counts, problems, short, unrun, fz_runs, fz_crash, names):
    """Two or three sentences with the figures: what was lost or wrong, and
    what ran smaller than the goals ask."""
    order = " / ".join(names[f["vendor"]] for f in facts)

    def each(key):
        return " / ".join(fmt(f.get(key)) for f in facts)

    figures = (f"{each('fuzz_queries')} fuzzed CPUIDs with {each('fuzz_dev')} deviations; "
               f"{each('stress_exits')} stress exits with {each('stress_mismatch')} per-reason "
               f"counts off and {each('stress_dec')} decreases; {each('life_vms')} VMs per scope "
               f"with {each('life_wrong')} wrong counts; {each('reloads')} reloads with "
               f"{each('reload_bad')} counters not starting from zero; "
               + " / ".join(str(len(f["reports"])) for f in facts) + " sanitizer reports from KVM "
               f"and {each('leaks')} leaks")
    inlab = f"; in-lab tests on the sanitizer kernel: {counts[0]} passed, {counts[1]} failed" if counts else ""
    fuzz = (f" `exitstat` under libFuzzer: {fmt(fz_runs[0])} runs in {fmt(fz_runs[1])} s, "
            + ("a crash." if fz_crash else "no crash.")) if fz_runs else " `exitstat` under libFuzzer: no result."
    if not problems and not unrun:
        return (f"**Verdict.** All met, on {order}: {figures}{inlab}." + fuzz)
    wrong = [x for x in problems if x not in short]
    if not wrong:
        return (f"**Verdict.** Nothing lost or wrong, on {order}: {figures}{inlab}."
                + (f" Not met: {len(short)} size goal{'s' if len(short) > 1 else ''}, the runs were "
                   "smaller than asked (below)." if short else "")
                + (f" Not run in this soak: {', '.join(names[v] for v in unrun)}." if unrun else "")
                + fuzz)
    return (f"**Verdict.** Not met, or not measured: {len(wrong)} result"
            f"{'s' if len(wrong) > 1 else ''} wrong or missing"
            + (f" and {len(short)} size goal{'s' if len(short) > 1 else ''}" if short else "")
            + f" (below). The figures, on {order}: {figures}{inlab}." + fuzz)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--kernel", required=True)
    ap.add_argument("--seconds", type=int, required=True)
    ap.add_argument("--summary", required=True)
    ap.add_argument("--fuzz-log", required=True)
    ap.add_argument("--commit", default="unknown", help="the tree's git describe")
    ap.add_argument("--note", action="append", default=[],
                    help="a paragraph to add under the introduction (how the run went)")
    ap.add_argument("logs", nargs="+")
    a = ap.parse_args()

    summary = open(a.summary).read()
    counts = first(r"^(\d+) passed, (\d+) failed$", summary)
    facts = [vendor_facts(p) for p in sorted(a.logs)]
    names = {"amd": "AMD SVM (QEMU TCG)", "intel": "Intel VMX (Bochs)"}
    fz = open(a.fuzz_log).read() if os.path.exists(a.fuzz_log) else ""
    fz_runs = first(r"Done (\d+) runs in (\d+) second", fz)
    covs = re.findall(r"cov: (\d+) ft: (\d+) corp: (\d+)/", fz)
    fz_cov = covs[-1] if covs else None
    fz_crash = re.search(r"ERROR: (AddressSanitizer|UndefinedBehaviorSanitizer|libFuzzer)|"
                         r"runtime error:|deadly signal", fz)

    # what went wrong or is missing, and what ran smaller than the goals ask
    problems, short = [], []
    for f in facts:
        for key in ("fuzz_dev", "fuzz_dec", "fuzz_wrong", "stress_mismatch", "stress_dec",
                    "life_wrong", "glob_cpuid_off", "reload_bad", "leaks"):
            if f.get(key) is None:
                problems.append(f"{f['vendor']}: {key} missing from {f['log']}")
            elif f[key]:
                problems.append(f"{f['vendor']}: {key} = {f[key]}")
        if f.get("glob_total_off") is not None and not 0 <= f["glob_total_off"] <= f["glob_slack"]:
            problems.append(f"{f['vendor']}: global total off by {f['glob_total_off']}")
        if f["reports"]:
            problems.append(f"{f['vendor']}: {len(f['reports'])} sanitizer reports")
        if not f["sanitizers"]:
            problems.append(f"{f['vendor']}: the sanitizers were not confirmed on")
        if (f.get("fuzz_k") or 0) < 1000000:
            short.append(f"{f['vendor']}: fewer than a million fuzzed CPUIDs")
        if (f.get("stress_per_vcpu") or 0) < 100000:
            short.append(f"{f['vendor']}: fewer than 100,000 exits per stress vCPU")
        slow = (" (cut in lab/reliability.sh: under Bochs the sanitizer kernel took about "
                "3 minutes of host time for 112 VMs in the short run)"
                if f["vendor"] == "intel" else "")
        if (f.get("life_vms") or 0) < 1000:
            short.append(f"{f['vendor']}: {fmt(f.get('life_vms'))} VMs per scope, "
                         f"not 1,000{slow}")
        if (f.get("reloads") or 0) < 50:
            short.append(f"{f['vendor']}: {fmt(f.get('reloads'))} reloads, not 50{slow}")
        if f.get("fuzz_2_32") == 0:
            short.append(f"{f['vendor']}: no value crossed 2^32 (tearing not exercised)")
    unrun = sorted(names.keys() - {f["vendor"] for f in facts})
    if fz_crash or not fz_runs:
        problems.append("exitstat libFuzzer: " + ("crash" if fz_crash else "no result"))
    if counts and counts[1]:
        problems.append(f"{counts[1]} in-lab tests failed")
    problems += short

    out = []
    p = out.append
    p("# Reliability and security results")
    p("")
    p(verdict(facts, counts, problems, short, unrun, fz_runs, fz_crash, names))
    p("")
    if problems or unrun:
        p("Not met, or not measured:")
        p("")
        for x in problems:
            p(f"- {x}")
        for v in unrun:
            p(f"- {v}: not run in this soak ({names[v]}; `lab/reliability.sh -s -v {v}`), "
              "so this page has no figures for it")
        p("")
    p("## How it was run")
    p("")
    p(f"Output of `make soak` (`lab/reliability.sh -s`) at commit {a.commit}: Linux "
      f"{a.kernel} built with KASAN (generic, inline), UBSAN (bounds, shift), lockdep, "
      f"`DEBUG_ATOMIC_SLEEP` and kmemleak (`lab/kernel-san.config`), one boot per "
      f"emulator, {a.seconds // 60} min {a.seconds % 60} s in all. The threat model is in "
      f"[../security.md](../security.md). Regenerate with `make soak`; `make check` runs "
      f"the same suite with short sizes.")
    p("")
    for n in a.note:
        p(n)
        p("")
    if counts:
        p(f"In-lab results on the sanitizer kernel: **{counts[0]} passed, {counts[1]} failed** "
          f"(every in-lab test of `make check`, its small fuzz, stress and lifecycle runs "
          f"replaced by the full ones below).")
        p("")
    p("| test | load held | faults injected / inputs tried | " +
      " | ".join(f"lost or wrong: {names[f['vendor']]}" for f in facts) + " |")
    p("|---|---|---|" + "---|" * len(facts))

    def row(test, load, inputs, cells):
        p(f"| {test} | {load} | {inputs} | " + " | ".join(cells) + " |")

    f0 = facts[0]
    row("leaf fuzzer (`test_exit_stats_fuzz`)",
        " / ".join(f"{fmt(f.get('fuzz_queries'))} CPUIDs" for f in facts),
        "random leaf in 0x4ffffff0..0x4fffffff, ECX uniform 32-bit, around the defined reasons, "
        "and 32 edge values; seeds " + ", ".join(fmt(f.get("fuzz_seed")) for f in facts),
        [f"{fmt(f.get('fuzz_dev'))} deviations ({fmt(f.get('fuzz_dec'))} decreases, "
         f"{fmt(f.get('fuzz_wrong'))} wrong CPUID counts); {fmt(f.get('fuzz_2_32'))} values "
         f"crossed 2^32 (total cycles {fmt(f.get('fuzz_cycles'))})" for f in facts])
    row("stress (`test_exit_stats_stress`)",
        "2 VMs at once x (4 worker vCPUs + a reader); " +
        " / ".join(f"{fmt(f.get('stress_per_vcpu'))}+ exits per worker, "
                   f"{fmt(f.get('stress_exits'))} exits in all" for f in facts),
        "CPUID, OUT to user space, RDMSR, HLT woken by the x2APIC timer; "
        "the reader's leaf reads: " + " / ".join(fmt(f.get("stress_reads")) for f in facts),
        [f"{fmt(f.get('stress_mismatch'))} per-reason counts off (CPUID, I/O, HLT, MSR, total "
         f"vs KVM's exits stat, per VM); {fmt(f.get('stress_dec'))} decreases seen by the reader"
         for f in facts])
    row("lifecycle, default scope",
        " / ".join(f"{fmt(f.get('life_vms'))} VMs ({fmt(f.get('life_seq'))} in sequence, "
                   f"the rest 4 at a time), {fmt(f.get('life_exits'))} exits" for f in facts),
        "VMs created, run for 1..64 CPUIDs and destroyed",
        [f"{fmt(f.get('life_wrong'))} VMs read a count not their own" for f in facts])
    row("lifecycle, global scope",
        " / ".join(f"{fmt(f.get('glob_vms'))} VMs" for f in facts),
        "a probe VM reads the global counts before and after",
        [f"CPUID count off by {fmt(f.get('glob_cpuid_off'))}; total off by "
         f"{fmt(f.get('glob_total_off'))} (allowed: the probe's own interrupt exits in its "
         f"read window, at most {fmt(f.get('glob_slack'))})" for f in facts])
    row("module reloads",
        " / ".join(f"{fmt(f.get('reloads'))} unload + load cycles" for f in facts),
        "rmmod and insmod kvm, kvm-amd/kvm-intel, global scope, a VM after each load",
        [f"{fmt(f.get('reload_bad'))} loads whose counters did not start from zero"
         for f in facts])
    row("kmemleak", "after all of the above", "two scans",
        [f"{fmt(f.get('leaks'))} suspected leaks" for f in facts])
    row("sanitizer reports", "the whole boot", "KASAN, UBSAN, lockdep, sleeping in atomic",
        [f"{len(f['reports'])} reports" +
         (f" ({len(f['reports_known'])} known from outside KVM, `lab/known-reports`)"
          if f["reports_known"] else "") for f in facts])
    row("`exitstat` under libFuzzer (clang, ASan, UBSan)",
        f"{fmt(fz_runs[0]) if fz_runs else 'missing'} runs in "
        f"{fmt(fz_runs[1]) if fz_runs else 'missing'} s",
        "arbitrary arguments and register values for every leaf"
        + (f"; coverage {fz_cov[0]} edges, {fz_cov[1]} features, corpus {fz_cov[2]}"
           if fz_cov else ""),
        ["crash found" if fz_crash else ("no crash" if fz_runs else "missing")] * 1
        + [""] * (len(facts) - 1))
    p("")

    p("## Time")
    p("")
    hosts = [f"{names[f['vendor']]} {f['host_s'] // 60} min {f['host_s'] % 60} s"
             for f in facts if f["host_s"] is not None]
    if hosts:
        p("Host (wall-clock) time per vendor, from the start of its run to its last log "
          "line: " + ", ".join(hosts) + ".")
        p("")
    p("Time per test, in seconds of the outer VM's clock. Bochs's clock is virtual "
      "(`clock: sync=none`): it advances with Bochs's instruction count at a nominal rate, "
      "not with the host's time, so compare the Intel figures with each other only:")
    p("")
    for f in facts:
        if f["took"]:
            p(f"- {names[f['vendor']]}: " +
              ", ".join(f"{k.split('/', 1)[1]} {v:,} s" for k, v in f["took"].items()))
    known = sorted({line.split("] ", 1)[-1] for f in facts for line in f["reports_known"]})
    if known:
        p("")
        p("Reports from outside KVM, not counted (see `lab/known-reports` for why):")
        p("")
        for k in known:
            p(f"- `{k}`")
    p("")
    p("Concurrency note: the sanitizer kernel's boots have one CPU on both emulators (the "
      "lab's QEMU guest boots without ACPI, and the Intel sanitizer boot keeps to one Bochs "
      "CPU for time), so its vCPUs and VMs run concurrently by preemption, not on two CPUs "
      "at once; the plain kernels' Intel boots, with two Bochs CPUs, run the SMP tests on two.")
    sys.stdout.write("\n".join(out) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
