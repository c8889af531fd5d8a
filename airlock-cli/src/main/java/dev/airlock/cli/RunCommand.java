package dev.airlock.cli;

import dev.airlock.guest.assets.GuestAssetException;
import dev.airlock.guest.assets.GuestAssets;
import dev.airlock.guest.assets.ProgressListener;
import dev.airlock.guest.initramfs.InitramfsBuilder;
import dev.airlock.guest.agent.AgentClient;
import dev.airlock.guest.agent.AgentException;
import dev.airlock.guest.agent.AgentRemoteException;
import dev.airlock.guest.agent.ExecProcess;
import dev.airlock.guest.agent.ExecRequest;
import dev.airlock.guest.agent.ExitStatus;
import dev.airlock.vmm.devices.AddressMap;
import dev.airlock.vmm.Vm;
import dev.airlock.vmm.VmConfig;
import dev.airlock.vmm.VmResult;
import dev.airlock.vmm.boot.BootException;
import dev.airlock.vmm.sched.HartPool;
import dev.airlock.vmm.virtio.DeviceEventLoop;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;

/** {@code airlock run}: boot a fresh VM, run one command in it, print its output, exit with its code. */
final class RunCommand {
    static final String USAGE = """
            usage: airlock run [--memory MiB] [--cpus N] [--kernel FILE] [--initrd FILE] [--append ARGS]
                               [--disk IMAGE[,ro]]... [--timeout SECONDS] [--console] -- COMMAND [ARG...]
              --memory MiB      guest RAM (default 256)
              --cpus N          guest harts (default 1)
              --kernel FILE     a RISC-V Linux Image or ELF (default: Debian's riscv64 kernel, fetched once)
              --initrd FILE     an initramfs (default: built from Debian's busybox-static)
              --append ARGS     more kernel command-line arguments
              --disk IMAGE[,ro] a raw disk image, or store:NAME for a store image, as virtio-blk: the first is
                                /dev/vda (repeatable; ,ro = read-only); store:NAME@SNAPSHOT is a
                                throwaway writable clone of that snapshot, deleted when the VM ends
              --timeout SECONDS stop the VM after this long (default 300)
              --console         stream the whole boot console, not just the command's output
              --timings         print where the time went (JVM start, assets, boot to /init, command) to stderr
              --name NAME       name the VM, so 'airlock exec NAME' and 'airlock cp' reach it while it runs
            The command runs through the guest agent over vsock; with --initrd it runs from the console instead.""";

    /** The kernel command line for these options: the machine's, quiet unless --console, then --append. */
    static String cmdline(Options o) {
        return VmConfig.BASE_CMDLINE + (o.console() ? "" : " quiet") + (o.append().isEmpty() ? "" : " " + o.append());
    }

    record Options(long memoryMiB, int cpus, Path kernel, Path initrd, String append, List<MicroVm.Disk> disks,
                   Duration timeout, boolean console, boolean timings, String name, List<String> command) {}

    static Options parse(String[] args) throws UsageException {
        return parse(args, true);
    }

    /** The run options; {@code start} shares them but takes no command. */
    static Options parse(String[] args, boolean commandRequired) throws UsageException {
        long memoryMiB = 256;
        int cpus = 1;
        Path kernel = null, initrd = null;
        String append = "";
        List<MicroVm.Disk> disks = new java.util.ArrayList<>();
        Duration timeout = Duration.ofSeconds(300);
        boolean console = false, timings = false;
        String name = null;
        int i = 0;
        for (; i < args.length; i++) {
            String a = args[i];
            if (a.equals("--")) { i++; break; }
            if (!a.startsWith("--")) break;
            switch (a) {
                case "--memory" -> memoryMiB = number(a, value(args, ++i, a), 16, 16384);
                case "--cpus" -> cpus = (int) number(a, value(args, ++i, a), 1, VmConfig.MAX_CPUS);
                case "--kernel" -> kernel = Path.of(value(args, ++i, a));
                case "--initrd" -> initrd = Path.of(value(args, ++i, a));
                case "--append" -> append = value(args, ++i, a);
                case "--disk" -> {
                    disks.add(MicroVm.Disk.parse(value(args, ++i, a)));
                    if (disks.size() > AddressMap.VIRTIO_MMIO_SLOTS - MicroVm.FIXED_DEVICES) {
                        throw new UsageException("at most " + (AddressMap.VIRTIO_MMIO_SLOTS - MicroVm.FIXED_DEVICES)
                                + " --disk options fit the machine's virtio slots");
                    }
                }
                case "--timeout" -> timeout = Duration.ofSeconds(number(a, value(args, ++i, a), 1, 86_400));
                case "--console" -> console = true;
                case "--timings" -> timings = true;
                case "--name" -> {
                    name = value(args, ++i, a);
                    RuntimeDir.checkName(name);
                }
                default -> throw new UsageException("unknown option " + a);
            }
        }
        List<String> command = List.of(args).subList(i, args.length);
        if (command.isEmpty() && initrd == null && commandRequired) {
            throw new UsageException("no command given: put it after --, e.g. airlock run -- uname -a");
        }
        return new Options(memoryMiB, cpus, kernel, initrd, append, List.copyOf(disks), timeout, console, timings, name,
                command);
    }

    static String value(String[] args, int i, String flag) throws UsageException {
        if (i >= args.length) throw new UsageException(flag + " needs a value");
        return args[i];
    }

    static long number(String flag, String text, long min, long max) throws UsageException {
        try {
            long v = Long.parseLong(text);
            if (v < min || v > max) throw new UsageException(flag + " must be between " + min + " and " + max + ", not " + v);
            return v;
        } catch (NumberFormatException e) {
            throw new UsageException(flag + " takes a whole number, not '" + text + "'");
        }
    }

    static int run(String[] args, PrintStream out, PrintStream err) throws UsageException, InterruptedException {
        long mainNanos = System.nanoTime();
        Options o = parse(args);
        // The command runs through the guest agent, unless the user brought an initramfs (which has none).
        boolean viaAgent = o.initrd() == null && !o.command().isEmpty();
        Path kernel;
        byte[] initrd;
        try {
            GuestAssets assets = o.kernel() == null || o.initrd() == null
                    ? GuestAssets.open(GuestAssets.defaultCacheDir(), ProgressListener.stderr()) : null;
            kernel = o.kernel() != null ? o.kernel() : assets.kernelImage();
            if (viaAgent) {
                initrd = assets.agentInitramfs(MicroVm.modules(!o.disks().isEmpty()));
            } else {
                byte[] base = o.initrd() != null ? readInitrd(o.initrd())
                        : o.disks().isEmpty() ? assets.baseInitramfs() : assets.initramfs(MicroVm.modules(true));
                initrd = withCommand(base, o.command());
            }
        } catch (GuestAssetException e) {
            err.println("airlock: " + e.getMessage());
            return ExitCodes.VM_FAILED;
        } catch (BootException e) {
            err.println("airlock: " + e.getMessage());
            return ExitCodes.USAGE;
        }
        long assetsNanos = System.nanoTime();
        String cmdline = cmdline(o);
        CommandOutputFilter filter = new CommandOutputFilter(out, o.console(), !viaAgent);
        VmConfig config = new VmConfig(o.cpus(), o.memoryMiB() << 20, kernel, initrd, cmdline, filter);
        RuntimeDir runtime = RuntimeDir.fromEnvironment();
        String name = o.name() != null ? o.name() : "run-" + ProcessHandle.current().pid() + "-" + RUNS.incrementAndGet();
        try (HartPool pool = HartPool.perCore();
             DeviceEventLoop devices = DeviceEventLoop.start(1, "airlock-virtio")) {
            MicroVm machine;
            try {
                machine = MicroVm.create(config, o.disks(), name, runtime, pool, devices);
            } catch (BootException | IOException e) {
                err.println("airlock: " + e.getMessage());
                return ExitCodes.USAGE;
            }
            long createdNanos = System.nanoTime();
            long deadline = createdNanos + o.timeout().toNanos();
            VmResult result;
            AgentRun agentRun = null;
            try {
                machine.start();
                if (o.console()) forwardStdin(machine.vm());
                if (viaAgent) agentRun = runThroughAgent(machine, o, out, err, deadline);
                result = machine.vm().await(Duration.ofNanos(Math.max(1, deadline - System.nanoTime())));
            } finally {
                machine.close();
            }
            long readyNanos = filter.readyNanos();
            long exitNanos = agentRun != null ? agentRun.exitNanos() : filter.exitNanos();
            if (o.timings()) {
                printTimings(err, mainNanos, assetsNanos, createdNanos, readyNanos, exitNanos, machine.vm().hartRunNanos(), result);
            }
            if (agentRun != null && agentRun.status() != null) return agentRun.status().exitCode();
            return report(result, o, filter, err);
        }
    }

    private static final java.util.concurrent.atomic.AtomicInteger RUNS = new java.util.concurrent.atomic.AtomicInteger();

    /** How the command went through the agent: its status (null if it never finished) and when it ended. */
    record AgentRun(ExitStatus status, long exitNanos) {}

    /**
     * Runs the command through the guest agent, streaming its output, then stops the guest. A guest
     * that dies or runs past the deadline leaves {@code status} null; the VM result explains it.
     */
    private static AgentRun runThroughAgent(MicroVm machine, Options o, PrintStream out, PrintStream err, long deadline)
            throws InterruptedException {
        Vm vm = machine.vm();
        try (AgentClient agent = machine.connectAgent(Duration.ofNanos(Math.max(1, deadline - System.nanoTime())))) {
            ExecProcess process = agent.exec(ExecRequest.of(o.command()));
            Thread stdout = Streams.pump(process.stdout(), out);
            Thread stderr = Streams.pump(process.stderr(), err);
            // A guest that panics or is stopped leaves the connection open until the VM closes: watch the VM too.
            java.util.Optional<ExitStatus> status = java.util.Optional.empty();
            while (status.isEmpty() && !vm.hasEnded() && deadline - System.nanoTime() > 0) {
                status = process.waitFor(Duration.ofNanos(Math.max(1, Math.min(POLL_NANOS, deadline - System.nanoTime()))));
            }
            if (status.isEmpty()) {
                if (!vm.hasEnded()) {
                    vm.stop(VmResult.Outcome.TIMEOUT, "the guest ran past its " + o.timeout().toSeconds() + " s time limit");
                }
                return new AgentRun(null, 0);
            }
            stdout.join();
            stderr.join();
            long exitNanos = System.nanoTime();
            // Disks: the guest writes back what it cached before the VM goes away.
            if (!o.disks().isEmpty()) agent.run("sync");
            vm.stop(VmResult.Outcome.POWEROFF, "the command finished");
            return new AgentRun(status.get(), exitNanos);
        } catch (AgentRemoteException e) {
            // The agent could not start the command: answer as a shell would (127 not found, 126 not executable).
            err.println("airlock: " + o.command().getFirst() + ": " + (e.errno() == ENOENT ? "not found" : e.remoteMessage()));
            vm.stop(VmResult.Outcome.POWEROFF, "the command could not start");
            return new AgentRun(ExitStatus.exited(e.errno() == ENOENT ? 127 : 126), System.nanoTime());
        } catch (AgentException e) {
            if (System.nanoTime() - deadline >= 0) {
                vm.stop(VmResult.Outcome.TIMEOUT, "the guest ran past its " + o.timeout().toSeconds() + " s time limit");
                return new AgentRun(null, 0);
            }
            // A guest that panics or powers off drops the connection: let the VM's own outcome explain it.
            if (!vm.awaitEnd(Duration.ofSeconds(2))) {
                err.println("airlock: lost the guest agent: " + e.getMessage());
                vm.stop(VmResult.Outcome.STOPPED, "the guest agent failed: " + e.getMessage());
            }
            return new AgentRun(null, 0);
        }
    }

    private static final int ENOENT = 2;
    private static final long POLL_NANOS = 100_000_000;


    /** With --console the terminal is the guest's: typed bytes go to its UART (a daemon thread, ends with the process). */
    private static void forwardStdin(Vm vm) {
        Thread t = new Thread(() -> {
            byte[] buf = new byte[256];
            try {
                for (int n; (n = System.in.read(buf)) > 0; ) vm.consoleInput(java.util.Arrays.copyOf(buf, n));
            } catch (IOException ignored) {
                // stdin closed: the guest simply gets no more input
            }
        }, "airlock-console-input");
        t.setDaemon(true);
        t.start();
    }

    private static final java.util.concurrent.atomic.AtomicBoolean FIRST_TIMED_RUN = new java.util.concurrent.atomic.AtomicBoolean(true);

    /** One line, key=value in milliseconds, for people and for scripts/bench-boot.sh. */
    private static void printTimings(PrintStream err, long mainNs, long assetsNs, long createdNs, long readyNs,
                                     long exitNs, long hartBusyNs, VmResult r) {
        // The launcher records when it started; the JVM's own start time is too coarse to use.
        // Only the process's first run started with the JVM (bench-repeat runs more in it).
        String launched = FIRST_TIMED_RUN.getAndSet(false) ? System.getenv("AIRLOCK_LAUNCH_EPOCH_MS") : null;
        long jvmStartMs = launched == null ? -1
                : System.currentTimeMillis() - Long.parseLong(launched) - (System.nanoTime() - mainNs) / 1_000_000;
        long end = System.nanoTime();
        err.printf("airlock: timings: jvm_start_ms=%d assets_ms=%d vm_create_ms=%d boot_to_init_ms=%d command_ms=%d"
                        + " vm_total_ms=%d hart_busy_ms=%d guest_instructions=%d%n",
                jvmStartMs, ms(assetsNs - mainNs), ms(createdNs - assetsNs),
                readyNs == 0 ? -1 : ms(readyNs - createdNs),
                readyNs == 0 || exitNs == 0 ? -1 : ms(exitNs - readyNs),
                ms(end - createdNs), ms(hartBusyNs), r.instructions());
    }

    private static long ms(long nanos) { return nanos / 1_000_000; }

    private static int report(VmResult r, Options o, CommandOutputFilter filter, PrintStream err) {
        int status = filter.exitStatus();
        switch (r.outcome()) {
            case POWEROFF -> {
                if (status >= 0) return status;
                if (o.command().isEmpty()) return r.exitCode() < 0 ? 0 : r.exitCode();
                err.println("airlock: the guest powered off before the command finished; last console lines:");
            }
            case TIMEOUT -> {
                err.println("airlock: " + r.reason() + " and was stopped (raise --timeout); last console lines:");
                printTail(r, err);
                return ExitCodes.TIMEOUT;
            }
            case PANIC -> err.println("airlock: the guest kernel panicked; last console lines:");
            case REBOOT -> err.println("airlock: the guest rebooted instead of powering off; last console lines:");
            case STOPPED -> err.println("airlock: the VM was stopped: " + r.reason() + "; last console lines:");
        }
        printTail(r, err);
        return ExitCodes.VM_FAILED;
    }

    private static void printTail(VmResult r, PrintStream err) {
        for (String line : r.consoleTail()) err.println("  | " + line);
    }

    private static byte[] readInitrd(Path file) throws BootException {
        try {
            byte[] b = Files.readAllBytes(file);
            if (!looksLikeInitramfs(b)) {
                throw new BootException("initrd " + file + " is not a cpio archive (newc) or a compressed one;"
                        + " pass an initramfs made with cpio -H newc (optionally gzip/xz/zstd) with --initrd");
            }
            return b;
        } catch (NoSuchFileException e) {
            throw new BootException("initrd " + file + " does not exist; pass an existing file with --initrd");
        } catch (IOException e) {
            throw new BootException("cannot read initrd " + file + ": " + e.getMessage());
        }
    }

    /** cpio newc/crc, or a compression format the kernel unpacks. */
    static boolean looksLikeInitramfs(byte[] b) {
        if (b.length < 6) return false;
        String ascii = new String(b, 0, 6, java.nio.charset.StandardCharsets.ISO_8859_1);
        if (ascii.equals("070701") || ascii.equals("070702")) return true;
        int m0 = b[0] & 0xff, m1 = b[1] & 0xff, m2 = b[2] & 0xff, m3 = b[3] & 0xff;
        return (m0 == 0x1f && (m1 == 0x8b || m1 == 0x9e))              // gzip
                || (m0 == 0xfd && m1 == '7' && m2 == 'z' && m3 == 'X')  // xz
                || (m0 == 0x28 && m1 == 0xb5 && m2 == 0x2f && m3 == 0xfd) // zstd
                || (m0 == 'B' && m1 == 'Z' && m2 == 'h')                // bzip2
                || (m0 == 0x02 && m1 == 0x21 && m2 == 0x4c && m3 == 0x18) // lz4 legacy
                || (m0 == 0x5d && m1 == 0 && m2 == 0)                   // lzma
                || (m0 == 0x89 && m1 == 'L' && m2 == 'Z' && m3 == 'O'); // lzo
    }

    /** The base initramfs followed by the archive holding /airlock/cmd.sh (the kernel reads both). */
    private static byte[] withCommand(byte[] base, List<String> command) {
        return command.isEmpty() ? base : InitramfsBuilder.append(base, InitramfsBuilder.commandArchive(command, Map.of()));
    }

    /**
     * {@code airlock initrd OUT [--disk-modules] [-- CMD...]}: writes the initramfs a console-mode run
     * boots (with the disk and virtio modules if asked), e.g. to boot the same bytes on QEMU.
     */
    static int writeInitrd(String[] args, PrintStream err) throws UsageException {
        String usage = "usage: airlock initrd OUT [--disk-modules] [-- CMD ARG...]";
        if (args.length < 1 || args[0].startsWith("-")) throw new UsageException(usage);
        int from = 1;
        boolean diskModules = false;
        if (from < args.length && args[from].equals("--disk-modules")) {
            diskModules = true;
            from++;
        }
        if (from < args.length) {
            if (!args[from].equals("--")) throw new UsageException(usage);
            from++;
        }
        List<String> command = List.of(args).subList(from, args.length);
        try {
            GuestAssets assets = GuestAssets.open(GuestAssets.defaultCacheDir(), ProgressListener.stderr());
            byte[] base = diskModules ? assets.initramfs(MicroVm.modules(true)) : assets.baseInitramfs();
            byte[] initrd = withCommand(base, command);
            Files.write(Path.of(args[0]), initrd);
            return 0;
        } catch (GuestAssetException | IOException e) {
            err.println("airlock: " + e.getMessage());
            return ExitCodes.VM_FAILED;
        }
    }
}
