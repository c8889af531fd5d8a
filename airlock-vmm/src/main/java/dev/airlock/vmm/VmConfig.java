package dev.airlock.vmm;

import java.io.OutputStream;
import java.nio.file.Path;
import java.util.Objects;

/**
 * What a VM is made of. {@code initrd} may be null; {@code cmdline} is the kernel command line.
 * {@code kernel} is null only for a VM restored from a snapshot, which loads none.
 *
 * @param console receives every byte the guest writes to its console
 */
public record VmConfig(int cpus, long memoryBytes, Path kernel, byte[] initrd, String cmdline, OutputStream console) {
    public static final int MAX_CPUS = 32;
    /**
     * The kernel arguments this machine wants: the console on the UART and SBI's early console, Sv39
     * (fewer walk levels), no crypto self-tests or jitter entropy (they only burn guest time).
     * scripts/bench-*.sh read this literal, so both VMMs boot with the same line.
     */
    public static final String BASE_CMDLINE = "console=ttyS0 earlycon=sbi no4lvl panic=-1 rdinit=/init"
            + " cryptomgr.notests initcall_blacklist=jent_mod_init"
            // Fewer wakeups of an idle guest (about 11 a second to 7.5), which is what idle clones cost:
            // the soft-lockup watchdog (every 4 s, and false alarms under a slow host anyway) and
            // proactive compaction (kcompactd every 500 ms), which does nothing useful for RAM the host maps.
            + " nowatchdog sysctl.vm.compaction_proactiveness=0";
    public static final long MIN_MEMORY_BYTES = 16L << 20, MAX_MEMORY_BYTES = 16L << 30;

    public VmConfig {
        Objects.requireNonNull(cmdline, "cmdline");
        Objects.requireNonNull(console, "console");
        if (cpus < 1 || cpus > MAX_CPUS) {
            throw new IllegalArgumentException("--cpus must be between 1 and " + MAX_CPUS + ", not " + cpus);
        }
        if (memoryBytes < MIN_MEMORY_BYTES || memoryBytes > MAX_MEMORY_BYTES || (memoryBytes & ((1 << 20) - 1)) != 0) {
            throw new IllegalArgumentException("--memory must be a whole number of MiB between "
                    + (MIN_MEMORY_BYTES >> 20) + " and " + (MAX_MEMORY_BYTES >> 20) + ", not " + memoryBytes / (double) (1 << 20));
        }
    }
}
