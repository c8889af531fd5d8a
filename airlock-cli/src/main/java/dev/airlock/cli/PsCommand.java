package dev.airlock.cli;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

/**
 * {@code airlock ps}: the running VMs and what they cost the host. RESIDENT is guest RAM the host
 * really holds for the VM (pages the guest never touched, or freed and reported, cost nothing);
 * BALLOON is what the balloon holds; TABLES the host page tables mapping its RAM (estimated from
 * which 2 MiB have a page mapped); JAVA the arrays its code cache and harts hold of their own; PSS the
 * whole airlock process's proportional set size, which includes the JVM itself and every VM it runs.
 */
final class PsCommand {
    static final String USAGE = "usage: airlock ps [--json]\n  Lists running VMs with their memory as the host sees it.";

    private PsCommand() {}

    static int run(String[] args, PrintStream out, PrintStream err) throws UsageException {
        boolean json = args.length == 1 && args[0].equals("--json");
        if (args.length > 0 && !json) throw new UsageException("ps takes no arguments but --json");
        RuntimeDir runtime = RuntimeDir.fromEnvironment();
        List<VmStatus> running = new ArrayList<>();
        Path vms = runtime.root().resolve("vms");
        if (Files.isDirectory(vms)) {
            try (Stream<Path> dirs = Files.list(vms)) {
                for (Path dir : dirs.sorted().toList()) {
                    Path control = dir.resolve("control.sock");
                    if (!Files.exists(control)) continue; // a plain 'run', or a VM still starting
                    try {
                        running.add(VmStatus.fromJson(VmControl.ask(control, "STATUS", Duration.ofSeconds(2))));
                    } catch (IOException | IllegalArgumentException e) {
                        err.println("airlock: " + dir.getFileName() + ": no answer (" + e.getMessage() + ")");
                    }
                }
            } catch (IOException e) {
                err.println("airlock: cannot list " + vms + ": " + e.getMessage());
                return 1;
            }
        }
        if (json) {
            out.println("[" + String.join(",", running.stream().map(VmStatus::toJson).toList()) + "]");
            return 0;
        }
        out.printf("%-16s %8s %5s %4s %8s %-12s %9s %9s %9s %9s %7s %7s %8s %7s%n", "NAME", "PID", "CID", "CPUS", "MEMORY",
                "TEMPLATE", "PRIVATE", "TEMPLATE", "SHARED", "BALLOON", "TABLES", "JAVA", "UPTIME", "PSS");
        long privateTotal = 0, overheadTotal = 0;
        var templateHeld = new java.util.TreeMap<String, Long>();
        var pss = new java.util.HashMap<Long, Long>();
        for (VmStatus s : running) {
            out.printf("%-16s %8d %5d %4d %8s %-12s %9s %9s %9s %9s %7s %7s %8s %7s%n", s.name(), s.pid(), s.cid(), s.cpus(),
                    mib(s.memoryBytes()), s.template().isEmpty() ? "-" : s.template(), mib(s.privateBytes()),
                    mib(s.templateBytes()), mib(s.sharedBytes()), mib(s.balloonBytes()), mib(s.tableBytes()),
                    mib(s.javaBytes()), uptime(s.uptimeMs()), mib(s.processPssBytes()));
            privateTotal += Math.max(0, s.privateBytes()) + Math.max(0, s.sharedBytes());
            overheadTotal += Math.max(0, s.tableBytes()) + Math.max(0, s.javaBytes());
            if (!s.template().isEmpty()) templateHeld.merge(s.template(), Math.max(0, s.templateBytes()), Math::max);
            pss.put(s.pid(), s.processPssBytes());
        }
        if (running.size() > 1) {
            long templates = templateHeld.values().stream().mapToLong(Long::longValue).sum();
            // Each template's page cache is shared by all its clones: count its largest mapping once (a lower bound).
            out.printf("guest memory held: %s private and KSM-shared + at least %s of %d template(s) shared by clones;"
                            + " page tables and Java arrays %s; processes' PSS %s%n", mib(privateTotal), mib(templates),
                    templateHeld.size(), mib(overheadTotal),
                    mib(pss.values().stream().mapToLong(v -> Math.max(0, v)).sum()));
        }
        return 0;
    }

    private static String mib(long bytes) {
        return bytes < 0 ? "-" : String.format("%.1fM", bytes / 1048576.0);
    }

    private static String uptime(long ms) {
        long s = ms / 1000;
        return s < 60 ? s + "s" : s < 3600 ? (s / 60) + "m" + (s % 60) + "s" : (s / 3600) + "h" + (s % 3600 / 60) + "m";
    }
}
