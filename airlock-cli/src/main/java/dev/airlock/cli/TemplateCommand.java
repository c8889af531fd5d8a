package dev.airlock.cli;

import dev.airlock.guest.agent.AgentClient;
import dev.airlock.guest.agent.AgentException;
import dev.airlock.guest.agent.ExecProcess;
import dev.airlock.guest.agent.ExecRequest;
import dev.airlock.guest.agent.ExitStatus;
import dev.airlock.guest.assets.GuestAssetException;
import dev.airlock.vmm.VmConfig;
import dev.airlock.vmm.VmResult;
import dev.airlock.vmm.boot.BootException;
import dev.airlock.vmm.sched.HartPool;
import dev.airlock.vmm.virtio.DeviceEventLoop;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Properties;

/**
 * {@code airlock template create|ls|rm}. Creating one boots a VM with the agent, runs the
 * preparation commands in it, has the guest drop its caches and report its free pages (so they
 * are not stored), stops it and saves it. Clones start from that saved state.
 */
final class TemplateCommand {
    static final String USAGE = """
            usage: airlock template create NAME [--memory MiB] [--cpus N] [--kernel FILE] [--append ARGS]
                                                [--disk IMAGE,ro | --disk store:NAME[,ro]]... [--prepare 'SHELL COMMAND']...
                                                [--share-content] [--timeout SECONDS]
                   airlock template ls
                   airlock template rm NAME
              create   boots a VM, runs each --prepare command in it (sh -c, in order; a failure aborts),
                       drops the guest's caches and free pages, then saves memory and state as template NAME
                       --disk IMAGE,ro: a raw file every clone shares, read-only. --disk store:NAME: a store
                       image the template snapshots when it saves (NAME@template-T); each clone writes a
                       throwaway copy-on-write clone of that snapshot, deleted when the clone ends
                       --share-content: its clones offer their pages to the host's same-page merging
                       (KSM; runs only while /sys/kernel/mm/ksm/run is 1). All templates with it on form one
                       trust domain: merged pages let one clone time another's memory, so leave it off for
                       clones that must not learn about each other
              ls       lists templates: size, memory the saved file really holds, how it was prepared
              rm       deletes a template, unless clones of it are running
            Templates live in $AIRLOCK_TEMPLATES (default ~/.local/share/airlock/templates).
            'airlock clone NAME -- CMD' starts a VM from one.""";

    /** How long free page reporting may take to settle after the caches are dropped. */
    static final Duration SETTLE_LIMIT = Duration.ofSeconds(20);
    /** Reporting has settled when nothing more was reported for this long (Linux reports after ~2 s). */
    static final Duration SETTLE_QUIET = Duration.ofMillis(3500);

    private TemplateCommand() {}

    static int run(String[] args, PrintStream out, PrintStream err) throws UsageException, InterruptedException {
        if (args.length == 0) throw new UsageException("template needs create, ls or rm");
        String[] rest = Arrays.copyOfRange(args, 1, args.length);
        Templates templates = Templates.fromEnvironment();
        return switch (args[0]) {
            case "create" -> create(rest, templates, out, err);
            case "ls" -> {
                if (rest.length != 0) throw new UsageException("template ls takes no arguments");
                try {
                    out.printf("%-20s %4s %8s %10s  %-20s %s%n", "NAME", "CPUS", "MEMORY", "STORED", "CREATED", "PREPARED WITH");
                    for (var t : templates.list()) {
                        out.printf("%-20s %4d %6dMi %8.1fMi  %-20s %s%n", t.name(), t.cpus(), t.memoryMiB(),
                                t.storedBytes() / (double) (1 << 20), t.created(), t.prepare().replace('\n', ';'));
                    }
                    yield 0;
                } catch (IOException e) {
                    err.println("airlock: " + e.getMessage());
                    yield ExitCodes.VM_FAILED;
                }
            }
            case "rm" -> {
                if (rest.length != 1) throw new UsageException("template rm takes one template name");
                try {
                    templates.delete(rest[0]);
                    yield 0;
                } catch (IOException e) {
                    err.println("airlock: " + message(e));
                    yield ExitCodes.VM_FAILED;
                }
            }
            default -> throw new UsageException("unknown template command '" + args[0] + "'");
        };
    }

    static String message(IOException e) {
        return e instanceof java.nio.file.NoSuchFileException n && n.getReason() != null ? n.getReason() : e.getMessage();
    }

    private static int create(String[] args, Templates templates, PrintStream out, PrintStream err)
            throws UsageException, InterruptedException {
        if (args.length == 0 || args[0].startsWith("-")) throw new UsageException("template create needs a name first");
        String name = args[0];
        RuntimeDir.checkName(name);
        // --prepare is ours; the rest are the run options.
        List<String> prepare = new ArrayList<>();
        List<String> runArgs = new ArrayList<>();
        boolean shareContent = false;
        for (int i = 1; i < args.length; i++) {
            if (args[i].equals("--share-content")) {
                shareContent = true;
            } else if (args[i].equals("--prepare")) {
                if (i + 1 >= args.length) throw new UsageException("--prepare needs a shell command");
                prepare.add(args[++i]);
            } else if (args[i].equals("--initrd") || args[i].equals("--name")) {
                throw new UsageException(args[i] + " does not apply to templates (they need the agent's initramfs and have a name)");
            } else {
                runArgs.add(args[i]);
            }
        }
        RunCommand.Options o = RunCommand.parse(runArgs.toArray(String[]::new), false);
        if (!o.command().isEmpty()) throw new UsageException("template create takes --prepare commands, not a command after --");
        for (MicroVm.Disk d : o.disks()) {
            if (!d.readOnly() && !d.inStore()) {
                throw new UsageException("a raw disk in a template must be read-only (--disk " + d.path() + ",ro): its clones"
                        + " share it. For a disk each clone writes, import it into the store (airlock image import) and use"
                        + " --disk store:NAME");
            }
            if (d.inStore() && d.storeSnapshot() != null) {
                throw new UsageException("--disk " + d.path() + ": a template takes a store image, not a snapshot of one;"
                        + " it snapshots the image itself when it saves");
            }
        }
        if (templates.exists(name)) {
            err.println("airlock: template '" + name + "' exists; delete it first with: airlock template rm " + name);
            return ExitCodes.USAGE;
        }
        MicroVm.BootFiles boot;
        try {
            boot = MicroVm.BootFiles.forAgent(o);
        } catch (GuestAssetException e) {
            err.println("airlock: " + e.getMessage());
            return ExitCodes.VM_FAILED;
        }
        Path kernel = boot.kernel();
        byte[] initrd = boot.initrd();
        VmConfig config = new VmConfig(o.cpus(), o.memoryMiB() << 20, kernel, initrd, RunCommand.cmdline(o),
                o.console() ? out : new CommandOutputFilter(out, false, false));
        long t0 = System.nanoTime();
        try (HartPool pool = HartPool.perCore();
             DeviceEventLoop devices = DeviceEventLoop.start(1, "airlock-virtio")) {
            MicroVm machine;
            try {
                machine = MicroVm.create(config, o.disks(), "template-" + name + "-" + ProcessHandle.current().pid(),
                        RuntimeDir.fromEnvironment(), pool, devices);
            } catch (BootException | IOException e) {
                err.println("airlock: " + e.getMessage());
                return ExitCodes.USAGE;
            }
            boolean closed = false;
            try {
                machine.start();
                long deadline = System.nanoTime() + o.timeout().toNanos();
                try (AgentClient agent = machine.connectAgent(o.timeout())) {
                    for (String command : prepare) {
                        err.println("airlock: preparing " + name + ": " + command);
                        int code = runInGuest(agent, command, out, err, machine, deadline);
                        if (code != 0) {
                            err.println("airlock: '" + command + "' failed in the guest (exit " + code + "); no template made");
                            return ExitCodes.VM_FAILED;
                        }
                    }
                    // What the guest can rebuild should not be stored: caches go, free memory is reported.
                    agent.run("sh", "-c", "sync; echo 3 > /proc/sys/vm/drop_caches; echo 1 > /proc/sys/vm/compact_memory");
                }
                long reported = settleReporting(machine);
                machine.vm().stop(VmResult.Outcome.STOPPED, "saving as template " + name);
                machine.vm().await(Duration.ofSeconds(30));
                Path staging = templates.stagingDir(name);
                machine.vm().snapshot(staging);
                // Writable store disks are frozen as the guest left them, for clones to read through:
                // after the VM and its disks are closed, so nothing writes the image behind the snapshot.
                machine.close();
                closed = true;
                List<MicroVm.Disk> disks = Templates.freezeWritableDisks(o.disks(), "template-" + name);
                long stored = dev.airlock.vmm.snapshot.Snapshot.open(staging).memoryChecksums().dataPages() << 12;
                Properties info = new Properties();
                info.setProperty("name", name);
                info.setProperty("created", Instant.now().toString());
                info.setProperty("cpus", Integer.toString(o.cpus()));
                info.setProperty("memoryMiB", Long.toString(o.memoryMiB()));
                info.setProperty("kernel", kernel.toString());
                info.setProperty("cmdline", config.cmdline());
                info.setProperty("prepare", String.join("\n", prepare));
                info.setProperty("airlock", Main.version());
                info.setProperty("storedBytes", Long.toString(stored));
                info.setProperty("shareContent", Boolean.toString(shareContent));
                info.setProperty("disks", Templates.describeDisks(disks));
                templates.commit(staging, name, info);
                err.printf("airlock: template %s saved in %.1f s: %d MiB of guest memory, %.1f MiB stored (%.0f MiB reported free)%n",
                        name, (System.nanoTime() - t0) / 1e9, o.memoryMiB(), stored / (double) (1 << 20), reported / (double) (1 << 20));
                return 0;
            } catch (AgentException e) {
                err.println("airlock: the guest agent failed while preparing the template: " + e.getMessage());
                return ExitCodes.VM_FAILED;
            } catch (IOException | IllegalStateException e) {
                err.println("airlock: cannot save template " + name + ": " + e.getMessage());
                return ExitCodes.VM_FAILED;
            } finally {
                if (!closed) machine.close();
            }
        }
    }

    private static int runInGuest(AgentClient agent, String command, PrintStream out, PrintStream err, MicroVm machine,
                                  long deadline) throws AgentException, InterruptedException {
        ExecProcess p = agent.exec(ExecRequest.of("sh", "-c", command));
        Thread o = Streams.pump(p.stdout(), out);
        Thread e = Streams.pump(p.stderr(), err);
        java.util.Optional<ExitStatus> status = java.util.Optional.empty();
        while (status.isEmpty() && !machine.vm().hasEnded() && deadline - System.nanoTime() > 0) {
            status = p.waitFor(Duration.ofMillis(100));
        }
        if (status.isEmpty()) {
            throw new AgentException(machine.vm().hasEnded() ? "the guest ended" : "the preparation ran past --timeout");
        }
        o.join();
        e.join();
        return status.get().exitCode();
    }

    /** Waits until the guest has reported its free pages (nothing new for {@link #SETTLE_QUIET}); returns bytes reported. */
    private static long settleReporting(MicroVm machine) throws InterruptedException {
        long start = System.nanoTime(), lastChange = start;
        long last = machine.balloon().bytesReported();
        while (System.nanoTime() - start < SETTLE_LIMIT.toNanos()) {
            Thread.sleep(250);
            long now = machine.balloon().bytesReported();
            if (now != last) {
                last = now;
                lastChange = System.nanoTime();
            } else if (System.nanoTime() - lastChange >= SETTLE_QUIET.toNanos()) {
                break;
            }
        }
        return last;
    }
}
