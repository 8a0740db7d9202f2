#!/usr/bin/env python3
"""CPU time per call, by category, of the client and the server process.

Reads a `perf record -e cpu-clock -F FREQ` capture of one `rpc-bench` run
(the client and its server child) and prints a Markdown table of
microseconds per call in each category, for each process.

    perf record -e cpu-clock -F 4999 -o rpc.data -- \
        target/release/rpc-bench --workload pipelined --system rpc --runs 1 --duration 4
    python3 bench/scripts/perf-categories.py rpc.data CALLS 4999

CALLS is the number of calls the run made: calls/s as printed, times the
warm-up plus the duration (4.25 s above).
"""

import collections
import re
import subprocess
import sys

CATEGORIES = [
    ("kernel: TCP/socket syscalls",
     lambda d, s: d == "kernel" and not re.search(
         r"schedule|futex|epoll|switch|idle|hrtimer|wake|select_task|enqueue|dequeue"
         r"|update_|pick_next|ttwu|finish_task", s)),
    ("kernel: scheduler, futex, epoll", lambda d, s: d == "kernel"),
    ("malloc/free", lambda d, s: re.search(r"malloc|free|_int_|consolidate|unlink_chunk|realloc|tcache", s)),
    ("memcpy/memmove", lambda d, s: re.search(r"mem(cpy|move|set)", s)),
    ("libc/vdso other", lambda d, s: "libc" in d or "vdso" in d),
    ("tungstenite framing", lambda d, s: "tungstenite" in s),
    ("tokio scheduler + task spawn",
     lambda d, s: re.search(r"tokio::runtime::(scheduler|task|context|coop|park|io|blocking|driver)"
                            r"|tokio::task|OwnedTasks|ShardedList|with_scheduler|Harness", s)),
    ("tokio timers (call timeout)", lambda d, s: re.search(r"tokio::time|TimerEntry|Timeout<|time::wheel", s)),
    ("tokio sync (mpsc, oneshot, Notify, Semaphore)",
     lambda d, s: re.search(r"tokio::sync|batch_semaphore|Semaphore|atomic_waker|AtomicWaker", s)),
    ("CancellationToken/TaskTracker", lambda d, s: "tokio_util" in s),
    ("tracing Instrumented", lambda d, s: "tracing" in s),
    ("std Mutex", lambda d, s: "Mutex" in s),
    ("HashMap + SipHash", lambda d, s: re.search(r"hash|Hash|hashbrown|sip", s)),
    ("postcard/serde", lambda d, s: re.search(r"postcard|serde", s)),
    ("rpc_core (own code)", lambda d, s: "rpc_core" in s),
    ("bench driver + handlers", lambda d, s: "rpc_bench" in s),
    ("other", lambda d, s: True),
]


def main():
    data, calls, freq = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
    script = subprocess.run(["perf", "script", "-i", data, "-F", "pid,ip,sym,dso"],
                            capture_output=True, text=True, check=True).stdout
    per_pid = collections.defaultdict(collections.Counter)
    samples = collections.Counter()
    for line in script.splitlines():
        m = re.match(r"\s*(\d+)\s+[0-9a-f]+\s+(.*?)\s+\((.*)\)\s*$", line)
        if not m:
            continue
        pid, sym, dso = m.groups()
        dso = "kernel" if "kernel" in dso else dso
        samples[pid] += 1
        for name, matches in CATEGORIES:
            if matches(dso, sym):
                per_pid[pid][name] += 1
                break
    # The client is the parent: the lower pid of the two busiest processes.
    client, server = sorted((pid for pid, _ in samples.most_common(2)), key=int)
    micros = lambda n: f"{n / freq / calls * 1e6:.2f}"
    print("| category | client µs/call | server µs/call |")
    print("| --- | ---: | ---: |")
    for name, _ in CATEGORIES:
        print(f"| {name} | {micros(per_pid[client][name])} | {micros(per_pid[server][name])} |")
    print(f"| **total** | {micros(samples[client])} | {micros(samples[server])} |")


if __name__ == "__main__":
    main()
