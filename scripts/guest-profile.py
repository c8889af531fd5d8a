#!/usr/bin/env python3
"""Puts kernel symbols on a guest profile written with -Dairlock.cpu.profile=FILE.

usage: scripts/guest-profile.py FILE KALLSYMS [TOP]
KALLSYMS is the guest kernel's symbol table in /proc/kallsyms format (Debian's System.map is a
placeholder), for example from: ./airlock run -- cat /proc/kallsyms > kallsyms.txt
Prints the share of samples per privilege, then the TOP (default 30) kernel functions and user pages.
"""
import bisect, collections, sys

def main():
    if len(sys.argv) < 3:
        print(__doc__.strip(), file=sys.stderr)
        sys.exit(2)
    samples = []
    with open(sys.argv[1]) as f:
        for line in f:
            n, priv, pc = line.split()
            samples.append((int(n), int(priv), int(pc, 16)))
    maps = [sys.argv[2]] if len(sys.argv) > 2 and sys.argv[2] != '-' else []
    top = int(sys.argv[3]) if len(sys.argv) > 3 else 30
    addrs, names = [], []
    if maps:
        syms = []
        with open(maps[0]) as f:
            for line in f:
                parts = line.split()
                # Compiler-local labels (.L0, .LVL591, .LBB…) leak into kallsyms; they would swallow the samples of the function they sit in.
                if len(parts) >= 3 and parts[1] in 'tTwW' and not parts[2].startswith('.L'):
                    syms.append((int(parts[0], 16), parts[2]))
        syms.sort()
        addrs = [a for a, _ in syms]
        names = [n for _, n in syms]
    total = sum(n for n, _, _ in samples) or 1
    by_priv = collections.Counter()
    funcs = collections.Counter()
    for n, priv, pc in samples:
        by_priv[{0: 'user', 1: 'supervisor', 3: 'machine'}.get(priv, str(priv))] += n
        if priv == 0:
            funcs['user page %x' % (pc & ~0xfff)] += n
        else:
            i = bisect.bisect_right(addrs, pc) - 1
            funcs[names[i] if i >= 0 else '%x' % pc] += n
    idle = funcs.get('arch_cpu_idle', 0)
    print('samples %d: %s; busy (not in arch_cpu_idle) %d' % (total, ', '.join('%s %.1f%%' % (k, 100.0 * v / total) for k, v in by_priv.most_common()), total - idle))
    for name, n in funcs.most_common(top):
        print('%6.2f%% %7d  %s' % (100.0 * n / total, n, name))

main()
