"""Print, after a full benchmark run, each case's speed as ratios to the
ceiling and to every baseline measured in the same run."""


def pytest_terminal_summary(terminalreporter, config):
    session = getattr(config, "_benchmarksession", None)
    if session is None or session.disabled or not session.benchmarks:
        return
    by_case, interleaved = {}, {}
    for b in session.benchmarks:
        info = b.extra_info
        if "case" in info and b.stats is not None:
            by_case.setdefault(info["case"], {})[info["impl"]] = (b.stats.min, info["nbytes"])
            if "x_ceiling_interleaved" in info:
                interleaved[info["case"]] = info["x_ceiling_interleaved"]
    tr = terminalreporter
    tr.section("fastsmp: ratios in this run (min time)")
    for case, impls in sorted(by_case.items()):
        if "fastsmp cpu" not in impls:
            continue
        t, nbytes = impls["fastsmp cpu"]
        parts = [f"{nbytes / t / 1e9:.1f} GB/s"]
        if "ceiling" in impls:
            parts.append(f"{impls['ceiling'][0] / t:.2f} x ceiling")
        if case in interleaved:
            parts.append(f"{interleaved[case]:.2f} x ceiling timed alternately")
        parts += [f"{name} {impls[name][0] / t:.1f}x" for name in impls if name not in ("fastsmp cpu", "ceiling")]
        tr.write_line(f"case {case}: " + ", ".join(parts))
