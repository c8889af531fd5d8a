// Timing harness for scripts/bench-boot.sh: boots Airlock and QEMU side by side and reports
// time-to-marker, peak RSS, compute throughput and Airlock's own --timings breakdown.
// Run it through scripts/bench-boot.sh (which prepares the kernel, initramfs and commands);
// it is a single-file program: `java scripts/bench/BootBench.java --help`.

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

public class BootBench {
    static final String READY = "@@AIRLOCK:READY@@";
    static final Pattern EXIT = Pattern.compile("@@AIRLOCK:EXIT (-?\\d+)@@");
    static final Pattern TIMINGS = Pattern.compile("airlock: timings: (.*)");
    static final String[] TIMING_FIELDS = {"jvm_start_ms", "assets_ms", "vm_create_ms", "boot_to_init_ms",
            "command_ms", "vm_total_ms", "hart_busy_ms", "guest_instructions"};

    // ---- options ----
    static int runs = 10, computeRuns = 3, computeMib = 64;
    static long readyTimeoutS = 120, exitTimeoutS = 900;
    static boolean warmup = true;
    static Path kernel, initrdTrue, initrdCompute, airlockArgsFile;
    static String qemu = "", qemuVersion = "", qemuAppend = "", airlockAppend = "", computeCmd = "", reproduce = "";
    static String qemuUnavailable = "";
    static String airlockBuild = "";
    static List<String> airlockBase = List.of();

    public static void main(String[] args) throws Exception {
        Locale.setDefault(Locale.ROOT);
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            switch (a) {
                case "--runs" -> runs = Integer.parseInt(args[++i]);
                case "--compute-runs" -> computeRuns = Integer.parseInt(args[++i]);
                case "--compute-mib" -> computeMib = Integer.parseInt(args[++i]);
                case "--ready-timeout" -> readyTimeoutS = Long.parseLong(args[++i]);
                case "--exit-timeout" -> exitTimeoutS = Long.parseLong(args[++i]);
                case "--no-warmup" -> warmup = false;
                case "--kernel" -> kernel = Path.of(args[++i]);
                case "--initrd-true" -> initrdTrue = Path.of(args[++i]);
                case "--initrd-compute" -> initrdCompute = Path.of(args[++i]);
                case "--airlock-args-file" -> airlockArgsFile = Path.of(args[++i]);
                case "--airlock-append" -> airlockAppend = args[++i];
                case "--qemu" -> qemu = args[++i];
                case "--qemu-version" -> qemuVersion = args[++i];
                case "--qemu-unavailable" -> qemuUnavailable = args[++i];
                case "--qemu-append" -> qemuAppend = args[++i];
                case "--compute-cmd" -> computeCmd = args[++i];
                case "--reproduce" -> reproduce = args[++i];
                case "--airlock-build" -> airlockBuild = args[++i];
                default -> throw new IllegalArgumentException("BootBench: unknown option " + a);
            }
        }
        if (kernel == null || initrdTrue == null || airlockArgsFile == null) {
            System.err.println("BootBench: run me through scripts/bench-boot.sh");
            System.exit(2);
        }
        airlockBase = Files.readAllLines(airlockArgsFile).stream().filter(s -> !s.isEmpty()).toList();
        boolean haveQemu = !qemu.isEmpty();

        section("Setup");
        System.out.println("host:      " + nproc() + " cores, " + cpuModel() + ", load average " + loadavg());
        System.out.println("airlock:   build " + airlockBuild + " (a private copy of the jars, so rebuilds by others during the run do not mix in)");
        System.out.println("java:      " + Runtime.version() + " (harness); Airlock runs " + airlockBase.get(0));
        System.out.println("qemu:      " + (haveQemu ? qemu + " (" + qemuVersion + ")" : "UNAVAILABLE: " + qemuUnavailable));
        System.out.println("kernel:    " + kernel + " (" + Files.size(kernel) + " bytes)");
        System.out.println("initramfs: " + initrdTrue + " (" + Files.size(initrdTrue) + " bytes, runs `true`)");
        if (initrdCompute != null)
            System.out.println("           " + initrdCompute + " (" + Files.size(initrdCompute) + " bytes, runs " + computeCmd + ")");
        System.out.println("cmdline:   Airlock  " + airlockAppend);
        System.out.println("           QEMU     " + qemuAppend);
        System.out.println("airlock:   " + String.join(" ", airlockCmd(initrdTrue, 0)));
        if (haveQemu) System.out.println("qemu:      " + String.join(" ", qemuCmd(initrdTrue)));
        System.out.println("time-to-marker = harness clock from just before the process is spawned to the marker line on its stdout.");
        System.out.println("peak RSS = VmHWM of that process (/proc/PID/status), sampled at READY, at EXIT and every 20 ms until it exits.");

        if (warmup) {
            section("Warm-up (not counted: page cache, AppCDS archive)");
            report("airlock", run(airlockCmd(initrdTrue, 0), true));
            if (haveQemu) report("qemu", run(qemuCmd(initrdTrue), false));
        }

        section("Boot: " + runs + " runs each, alternating, 1 hart, 256 MiB, initramfs runs `true`");
        List<Run> aBoot = new ArrayList<>(), qBoot = new ArrayList<>();
        for (int i = 1; i <= runs; i++) {
            Run a = run(airlockCmd(initrdTrue, 0), true);
            aBoot.add(a);
            report("airlock #" + i, a);
            if (haveQemu) {
                Run q = run(qemuCmd(initrdTrue), false);
                qBoot.add(q);
                report("qemu    #" + i, q);
            }
        }
        System.out.println("load average after boot runs: " + loadavg());

        List<Run> aComp = new ArrayList<>(), qComp = new ArrayList<>();
        if (initrdCompute != null && computeRuns > 0) {
            section("Compute: " + computeRuns + " runs each, alternating: " + computeCmd);
            for (int i = 1; i <= computeRuns; i++) {
                Run a = run(airlockCmd(initrdCompute, exitTimeoutS + 60), true);
                aComp.add(a);
                report("airlock #" + i, a);
                if (haveQemu) {
                    Run q = run(qemuCmd(initrdCompute), false);
                    qComp.add(q);
                    report("qemu    #" + i, q);
                }
            }
            System.out.println("load average after compute runs: " + loadavg());
        }

        // ---- results ----
        section("Boot results (process start -> READY marker)");
        List<Double> aReady = ok(aBoot, r -> r.readyMs), qReady = ok(qBoot, r -> r.readyMs);
        List<Double> aRss = ok(aBoot, r -> r.peakKiB / 1024.0), qRss = ok(qBoot, r -> r.peakKiB / 1024.0);
        List<Double> aRssReady = ok(aBoot, r -> r.hwmReadyKiB / 1024.0), qRssReady = ok(qBoot, r -> r.hwmReadyKiB / 1024.0);
        System.out.printf("%-28s %18s %18s %10s%n", "", "Airlock", haveQemu ? "QEMU " + shortQemu() : "QEMU", "ratio A/Q");
        row("runs reaching READY", count(aBoot), runs, count(qBoot), haveQemu ? runs : 0);
        statRow("time to READY, min (s)", min(aReady) / 1000, min(qReady) / 1000, "%.2f");
        statRow("time to READY, median (s)", median(aReady) / 1000, median(qReady) / 1000, "%.2f");
        statRow("peak RSS, min (MiB)", min(aRss), min(qRss), "%.0f");
        statRow("peak RSS, median (MiB)", median(aRss), median(qRss), "%.0f");
        statRow("VmHWM at READY, median (MiB)", median(aRssReady), median(qRssReady), "%.0f");
        statRow("CPU time to exit, median (s)", median(ok(aBoot, r -> r.cpuMs)) / 1000, median(ok(qBoot, r -> r.cpuMs)) / 1000, "%.2f");
        statRow("others' CPU meanwhile (cores)", median(ok(aBoot, r -> r.othersCores)), median(ok(qBoot, r -> r.othersCores)), "%.2f");
        System.out.println("(ratios are median/median; CPU time = utime+stime of all the process's threads, last sample before exit)");
        System.out.println("(others' CPU = host busy time during the run minus the measured process's, per second of wall time; 2 cores in all)");

        double bootInstr = median(okT(aBoot, "guest_instructions"));
        double aCompMs = Double.NaN, qCompMs = Double.NaN, aMips = Double.NaN, cmdInstr = Double.NaN;
        if (!aComp.isEmpty() || !qComp.isEmpty()) {
            section("Compute results (READY marker -> EXIT marker): " + computeCmd);
            List<Double> aC = okExit(aComp), qC = okExit(qComp);
            aCompMs = median(aC);
            qCompMs = median(qC);
            String aOut = firstOutput(aComp), qOut = firstOutput(qComp);
            System.out.printf("%-28s %18s %18s %10s%n", "", "Airlock", haveQemu ? "QEMU " + shortQemu() : "QEMU", "ratio A/Q");
            row("runs reaching EXIT 0", aC.size(), computeRuns, qC.size(), haveQemu ? computeRuns : 0);
            statRow("READY->EXIT, min (s)", min(aC) / 1000, min(qC) / 1000, "%.2f");
            statRow("READY->EXIT, median (s)", aCompMs / 1000, qCompMs / 1000, "%.2f");
            System.out.println("guest output: Airlock '" + aOut + "'" + (haveQemu ? ", QEMU '" + qOut + "'"
                    + (aOut.equals(qOut) ? " (identical)" : " (DIFFERENT!)") : ""));
            double compInstr = median(okT(aComp, "guest_instructions"));
            cmdInstr = compInstr - bootInstr;
            double cmdMsInternal = median(okT(aComp, "command_ms"));
            aMips = cmdInstr / (aCompMs / 1000) / 1e6;
            System.out.printf("Airlock guest instructions: compute run %.0f (median) - `true` boot run %.0f (median) = %.0f for the command%n",
                    compInstr, bootInstr, cmdInstr);
            System.out.printf("Airlock guest MIPS on the command: %.1f (harness READY->EXIT %.2f s; Airlock's own command_ms %.0f -> %.1f MIPS)%n",
                    aMips, aCompMs / 1000, cmdMsInternal, cmdInstr / (cmdMsInternal / 1000) / 1e6);
            if (haveQemu && !Double.isNaN(qCompMs)) {
                System.out.printf("QEMU equivalent: the same guest work in %.2f s = about %.0f MIPS (assumes the same instruction count)%n",
                        qCompMs / 1000, cmdInstr / (qCompMs / 1000) / 1e6);
                System.out.printf(">>> compute time ratio Airlock/QEMU = %.2f  (so Airlock runs at %.3f of QEMU's MIPS; QEMU is %.1fx faster)%n",
                        aCompMs / qCompMs, qCompMs / aCompMs, aCompMs / qCompMs);
            }
        }
        if (haveQemu) {
            System.out.printf("%n>>> boot time ratio Airlock/QEMU (median/median) = %s%n", f("%.2f", median(aReady) / median(qReady)));
            System.out.printf(">>> peak RSS ratio Airlock/QEMU (median/median) = %s%n", f("%.2f", median(aRss) / median(qRss)));
        }

        section("Where Airlock's time goes (median of each --timings field over the " + count(aBoot) + " boot runs)");
        for (String f : TIMING_FIELDS) {
            double m = median(okT(aBoot, f));
            System.out.printf("  %-20s %15s%n", f, Double.isNaN(m) ? "n/a" : String.format("%.0f", m));
        }
        double jvm = median(okT(aBoot, "jvm_start_ms")), boot = median(okT(aBoot, "boot_to_init_ms"));
        System.out.printf("  guest MIPS to /init (guest_instructions / (boot_to_init_ms+command_ms), medians): %s%n",
                f("%.1f", bootInstr / ((boot + median(okT(aBoot, "command_ms"))) / 1000) / 1e6));
        System.out.printf("  harness READY median %s ms vs jvm_start+assets+vm_create+boot_to_init medians %s ms%n",
                f("%.0f", median(aReady)), f("%.0f", jvm + median(okT(aBoot, "assets_ms")) + median(okT(aBoot, "vm_create_ms")) + boot));

        section("Markdown for README (Performance)");
        String q = haveQemu ? "QEMU " + shortQemu() + " TCG" : "QEMU (not measured)";
        String cmd = " | `" + reproduce + "` |";
        System.out.println("| What | Airlock | " + q + " | Ratio (Airlock/QEMU) | Command |");
        System.out.println("|---|---|---|---|---|");
        System.out.printf("| Boot, process start → `/init` ready marker, Debian 6.12 kernel, 1 hart, 256 MiB, median of %d (min) | %s | %s | %s%s%n",
                count(aBoot), sec(aReady), sec(qReady), ratio(median(aReady), median(qReady), "×"), cmd);
        System.out.printf("| Peak RSS (VmHWM) of that boot, median of %d | %s | %s | %s%s%n", count(aBoot),
                mib(median(aRss)), mib(median(qRss)), ratio(median(aRss), median(qRss), "×"), cmd);
        if (!aComp.isEmpty()) {
            System.out.printf("| Guest `%s`, ready → exit marker, median of %d | %s | %s | %s%s%n", computeCmd.replace("|", "\\|"),
                    okExit(aComp).size(), fmtS(aCompMs), fmtS(qCompMs), ratio(aCompMs, qCompMs, "×"), cmd);
            System.out.printf("| Guest MIPS on that command (%.2f G instructions, counted by Airlock; QEMU's is the same work ÷ its time) | %.0f | ≈%s | %s%s%n",
                    cmdInstr / 1e9, aMips, Double.isNaN(qCompMs) ? "—" : String.format("%.0f", cmdInstr / (qCompMs / 1000) / 1e6),
                    ratio(qCompMs, aCompMs, "×"), cmd);
        }
        System.out.println();
        System.out.println("Reproduce: " + reproduce);
        System.out.println("(" + nproc() + "-core " + cpuModel() + ", shared with other users; load average at end " + loadavg() + ")");
        int failed = 0;
        for (List<Run> l : List.of(aBoot, qBoot, aComp, qComp)) for (Run r : l) if (r.failure != null) failed++;
        if (failed > 0) {
            System.out.println("WARNING: " + failed + " run(s) failed or timed out (see above); the statistics leave them out.");
            System.out.flush();
            System.exit(3);
        }
    }

    // ---- one run ----
    static final class Run {
        String failure; // null = ok
        double readyMs = Double.NaN, exitMarkerMs = Double.NaN, endMs = Double.NaN, cpuMs = Double.NaN, othersCores = Double.NaN;
        long hwmReadyKiB, peakKiB;
        int exitStatus = Integer.MIN_VALUE, processExit = Integer.MIN_VALUE;
        boolean killed;
        String output = "";
        Map<String, Long> timings = new LinkedHashMap<>();
        List<String> tail = new ArrayList<>();
    }

    static Run run(List<String> cmd, boolean airlock) throws Exception {
        Run r = new Run();
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectInput(ProcessBuilder.Redirect.from(Path.of("/dev/null").toFile()));
        CountDownLatch ready = new CountDownLatch(1), exited = new CountDownLatch(1);
        StringBuilder err = new StringBuilder();
        long[] stat0 = procStat();
        long t0 = System.nanoTime();
        pb.environment().put("AIRLOCK_LAUNCH_EPOCH_MS", Long.toString(System.currentTimeMillis()));
        Process p = pb.start();
        long pid = p.pid();
        Object lock = new Object();
        Thread out = new Thread(() -> {
            try (InputStream in = p.getInputStream()) {
                StringBuilder line = new StringBuilder(), cmdOut = new StringBuilder();
                boolean inCmd = false;
                byte[] buf = new byte[8192];
                for (int n; (n = in.read(buf)) > 0; ) {
                    for (int k = 0; k < n; k++) {
                        int b = buf[k] & 0xff;
                        if (b == '\r') continue;
                        if (b != '\n') { line.append((char) b); continue; }
                        String s = line.toString();
                        line.setLength(0);
                        synchronized (lock) {
                            r.tail.add(s);
                            if (r.tail.size() > 15) r.tail.remove(0);
                        }
                        if (!inCmd && r.exitStatus == Integer.MIN_VALUE && s.contains(READY)) {
                            r.readyMs = (System.nanoTime() - t0) / 1e6;
                            long h = hwm(pid);
                            r.hwmReadyKiB = h;
                            synchronized (lock) { r.peakKiB = Math.max(r.peakKiB, h); }
                            inCmd = true;
                            ready.countDown();
                            continue;
                        }
                        if (inCmd) {
                            Matcher m = EXIT.matcher(s);
                            if (m.find()) {
                                r.exitMarkerMs = (System.nanoTime() - t0) / 1e6;
                                long h = hwm(pid);
                                synchronized (lock) { r.peakKiB = Math.max(r.peakKiB, h); }
                                cmdOut.append(s, 0, m.start());
                                r.exitStatus = Integer.parseInt(m.group(1));
                                r.output = cmdOut.toString().trim();
                                inCmd = false;
                                exited.countDown();
                                continue;
                            }
                            if (!s.startsWith("[")) cmdOut.append(s).append('\n'); // skip kernel log lines
                        }
                    }
                }
            } catch (IOException ignored) {
            }
        }, "stdout");
        Thread errT = new Thread(() -> {
            try (InputStream in = p.getErrorStream()) {
                err.append(new String(in.readAllBytes(), StandardCharsets.UTF_8));
            } catch (IOException ignored) {
            }
        }, "stderr");
        Thread poll = new Thread(() -> {
            while (p.isAlive()) {
                long h = hwm(pid);
                double c = cpuMs(pid);
                synchronized (lock) {
                    r.peakKiB = Math.max(r.peakKiB, h);
                    if (!Double.isNaN(c)) r.cpuMs = c;
                }
                try { Thread.sleep(20); } catch (InterruptedException e) { return; }
            }
        }, "poll");
        out.setDaemon(true); errT.setDaemon(true); poll.setDaemon(true);
        out.start(); errT.start(); poll.start();

        if (!ready.await(readyTimeoutS, TimeUnit.SECONDS) || Double.isNaN(r.readyMs)) {
            if (p.isAlive()) {
                r.failure = "TIMEOUT: no READY marker within " + readyTimeoutS + " s";
                kill(p, r);
            } else {
                p.waitFor();
                r.failure = "FAILED: exited with status " + p.exitValue() + " before the READY marker";
            }
        } else {
            long left = exitTimeoutS * 1000 - (long) r.readyMs;
            if (!exited.await(Math.max(left, 1), TimeUnit.MILLISECONDS)) {
                if (p.isAlive()) {
                    r.failure = "TIMEOUT: no EXIT marker within " + exitTimeoutS + " s";
                    kill(p, r);
                } else {
                    r.failure = "FAILED: exited with status " + p.waitFor() + " before the EXIT marker";
                }
            }
            // Past the EXIT marker the guest powers off; QEMU (with -no-reboot) and Airlock should exit by themselves.
            if (!p.waitFor(20, TimeUnit.SECONDS)) kill(p, r);
        }
        p.waitFor();
        r.endMs = (System.nanoTime() - t0) / 1e6;
        long[] stat1 = procStat();
        if (stat0 != null && stat1 != null && !Double.isNaN(r.cpuMs))
            r.othersCores = Math.max(0, ((stat1[0] - stat0[0]) * 10.0 - r.cpuMs) / r.endMs);
        r.processExit = p.exitValue();
        out.join(2000); errT.join(2000); poll.interrupt(); poll.join(2000);
        Matcher m = TIMINGS.matcher(err);
        if (m.find()) {
            for (String kv : m.group(1).trim().split("\\s+")) {
                String[] x = kv.split("=", 2);
                if (x.length == 2) try { r.timings.put(x[0], Long.parseLong(x[1])); } catch (NumberFormatException ignored) {}
            }
        }
        if (r.failure == null && r.exitStatus != 0) r.failure = "FAILED: guest command exit status " + r.exitStatus;
        if (r.failure == null && !r.killed && r.processExit != 0 && airlock)
            r.failure = "FAILED: airlock exited " + r.processExit;
        if (r.failure != null) {
            String e = err.toString().strip();
            if (!e.isEmpty()) synchronized (lock) { r.tail.add("stderr: " + e.replace("\n", "\n  | stderr: ")); }
        }
        return r;
    }

    static void kill(Process p, Run r) throws InterruptedException {
        r.killed = true;
        p.destroy();
        if (!p.waitFor(3, TimeUnit.SECONDS)) p.destroyForcibly();
    }

    static void report(String label, Run r) {
        StringBuilder s = new StringBuilder(String.format("  %-12s ", label));
        s.append(String.format("READY %6s s  EXIT %7s s  process end %7s s  VmHWM@READY %4d MiB  peak %4d MiB  CPU %6s s",
                f("%.2f", r.readyMs / 1000), f("%.2f", r.exitMarkerMs / 1000), f("%.2f", r.endMs / 1000),
                r.hwmReadyKiB / 1024, r.peakKiB / 1024, f("%.2f", r.cpuMs / 1000)));
        s.append("  others ").append(f("%.2f", r.othersCores)).append(" cores");
        if (!Double.isNaN(r.exitMarkerMs) && !Double.isNaN(r.readyMs))
            s.append(String.format("  (READY->EXIT %.2f s)", (r.exitMarkerMs - r.readyMs) / 1000));
        if (r.killed && r.failure == null) s.append("  [killed after EXIT: did not exit within 20 s]");
        if (!r.timings.isEmpty()) s.append("\n               timings: ").append(r.timings.toString().replaceAll("[{}]", ""));
        if (r.failure != null) {
            s.append("\n               ").append(r.failure).append("; last output lines:");
            for (String t : r.tail) s.append("\n  | ").append(t);
        }
        System.out.println(s);
        System.out.flush();
    }

    // ---- commands ----
    static List<String> airlockCmd(Path initrd, long vmTimeoutS) {
        List<String> c = new ArrayList<>(airlockBase);
        c.addAll(List.of("run", "--memory", "256", "--cpus", "1", "--kernel", kernel.toString(), "--initrd", initrd.toString(),
                "--console", "--append", "quiet", "--timings"));
        if (vmTimeoutS > 0) c.addAll(List.of("--timeout", Long.toString(vmTimeoutS)));
        return c;
    }

    static List<String> qemuCmd(Path initrd) {
        return List.of(qemu, "-M", "virt", "-m", "256", "-smp", "1", "-bios", "default", "-nographic", "-no-reboot",
                "-kernel", kernel.toString(), "-initrd", initrd.toString(), "-append", qemuAppend);
    }

    // ---- /proc ----
    static long hwm(long pid) {
        try {
            for (String l : Files.readAllLines(Path.of("/proc/" + pid + "/status")))
                if (l.startsWith("VmHWM:")) return Long.parseLong(l.replaceAll("\\D", ""));
        } catch (IOException | RuntimeException ignored) {
        }
        return 0;
    }

    static double cpuMs(long pid) {
        try {
            String s = Files.readString(Path.of("/proc/" + pid + "/stat"));
            String[] f = s.substring(s.lastIndexOf(')') + 2).split(" ");
            return (Long.parseLong(f[11]) + Long.parseLong(f[12])) * 10.0; // utime+stime, USER_HZ = 100
        } catch (IOException | RuntimeException e) {
            return Double.NaN;
        }
    }

    /** Busy jiffies of all host CPUs (user+nice+system+irq+softirq+steal), to estimate what others ran meanwhile. */
    static long[] procStat() {
        try {
            String[] f = Files.readAllLines(Path.of("/proc/stat")).get(0).trim().split("\\s+");
            long busy = 0;
            for (int i : new int[] {1, 2, 3, 6, 7, 8}) busy += Long.parseLong(f[i]);
            return new long[] {busy};
        } catch (IOException | RuntimeException e) {
            return null;
        }
    }

    static String loadavg() {
        try { return String.join(" ", List.of(Files.readString(Path.of("/proc/loadavg")).split(" ")).subList(0, 3)); }
        catch (IOException e) { return "?"; }
    }

    static int nproc() { return Runtime.getRuntime().availableProcessors(); }

    static String cpuModel() {
        try {
            for (String l : Files.readAllLines(Path.of("/proc/cpuinfo")))
                if (l.startsWith("model name")) return l.substring(l.indexOf(':') + 1).trim();
        } catch (IOException ignored) {
        }
        return "unknown CPU";
    }

    // ---- statistics and formatting ----
    interface F { double of(Run r); }

    static List<Double> ok(List<Run> rs, F f) {
        List<Double> v = new ArrayList<>();
        for (Run r : rs) if (!Double.isNaN(r.readyMs) && r.failure == null) v.add(f.of(r));
        return v;
    }

    static List<Double> okExit(List<Run> rs) {
        List<Double> v = new ArrayList<>();
        for (Run r : rs) if (r.failure == null && r.exitStatus == 0) v.add(r.exitMarkerMs - r.readyMs);
        return v;
    }

    static List<Double> okT(List<Run> rs, String field) {
        List<Double> v = new ArrayList<>();
        for (Run r : rs) if (r.failure == null && r.timings.containsKey(field) && r.timings.get(field) >= 0) v.add((double) r.timings.get(field));
        return v;
    }

    static int count(List<Run> rs) { return ok(rs, r -> 0).size(); }

    static String firstOutput(List<Run> rs) {
        for (Run r : rs) if (r.failure == null) return r.output.replace("\n", " / ");
        return "";
    }

    static double min(List<Double> v) { return v.stream().mapToDouble(d -> d).min().orElse(Double.NaN); }

    static double median(List<Double> v) {
        if (v.isEmpty()) return Double.NaN;
        double[] a = v.stream().mapToDouble(d -> d).sorted().toArray();
        int n = a.length;
        return n % 2 == 1 ? a[n / 2] : (a[n / 2 - 1] + a[n / 2]) / 2;
    }

    static void row(String name, int a, int an, int q, int qn) {
        System.out.printf("%-28s %18s %18s%n", name, a + "/" + an, qn == 0 ? "n/a" : q + "/" + qn);
    }

    static void statRow(String name, double a, double q, String fmt) {
        System.out.printf("%-28s %18s %18s %10s%n", name, f(fmt, a), f(fmt, q),
                Double.isNaN(a) || Double.isNaN(q) ? "n/a" : String.format("%.2f", a / q));
    }

    static String f(String fmt, double v) { return Double.isNaN(v) || Double.isInfinite(v) ? "n/a" : String.format(fmt, v); }

    static String sec(List<Double> ms) {
        return ms.isEmpty() ? "—" : String.format("%.2f s (min %.2f)", median(ms) / 1000, min(ms) / 1000);
    }

    static String fmtS(double ms) { return Double.isNaN(ms) ? "—" : String.format("%.2f s", ms / 1000); }

    static String mib(double m) { return Double.isNaN(m) ? "—" : String.format("%.0f MiB", m); }

    static String ratio(double a, double q, String unit) {
        return Double.isNaN(a) || Double.isNaN(q) ? "—" : String.format("%.2f%s", a / q, unit);
    }

    static String shortQemu() {
        Matcher m = Pattern.compile("version (\\d+\\.\\d+)").matcher(qemuVersion);
        return m.find() ? m.group(1) : qemuVersion;
    }

    static void section(String title) {
        System.out.println();
        System.out.println("== " + title + " ==");
        System.out.flush();
    }
}
