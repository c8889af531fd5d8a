package dev.airlock.cli;

import dev.airlock.guest.agent.AgentClient;
import dev.airlock.guest.agent.AgentException;
import dev.airlock.guest.assets.GuestAssetException;
import dev.airlock.vmm.VmConfig;
import dev.airlock.vmm.VmResult;
import dev.airlock.vmm.boot.BootException;
import dev.airlock.vmm.sched.HartPool;
import dev.airlock.vmm.virtio.DeviceEventLoop;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.file.Path;
import java.time.Duration;

/**
 * {@code airlock start NAME [run options]}: boots a VM and keeps it running in the foreground until
 * the guest powers off, {@code airlock stop NAME} asks it to, or this process is interrupted.
 * Meanwhile {@code airlock exec NAME} and {@code airlock cp} reach it through its vsock socket.
 */
final class StartCommand {
    static final String USAGE = """
            usage: airlock start NAME [--memory MiB] [--cpus N] [--kernel FILE] [--append ARGS] [--disk IMAGE[,ro]]...
                                      [--timeout SECONDS] [--console]
              Boots a VM named NAME and runs it in the foreground until it powers off or 'airlock stop NAME';
              'airlock exec NAME -- CMD' and 'airlock cp' work on it meanwhile. --timeout defaults to none.""";

    private StartCommand() {}

    static int run(String[] args, PrintStream out, PrintStream err) throws UsageException, InterruptedException {
        if (args.length == 0 || args[0].startsWith("-")) throw new UsageException("start needs a VM name first");
        String name = args[0];
        RuntimeDir.checkName(name);
        String[] rest = java.util.Arrays.copyOfRange(args, 1, args.length);
        boolean timeoutGiven = java.util.Arrays.asList(rest).contains("--timeout");
        RunCommand.Options o = RunCommand.parse(rest, false);
        if (!o.command().isEmpty()) throw new UsageException("start takes no command; use 'airlock exec " + name + " -- CMD'");
        if (o.initrd() != null) throw new UsageException("start needs the agent's initramfs; --initrd is for 'airlock run'");
        Duration timeout = timeoutGiven ? o.timeout() : Duration.ofDays(365);
        MicroVm.BootFiles boot;
        try {
            boot = MicroVm.BootFiles.forAgent(o);
        } catch (GuestAssetException e) {
            err.println("airlock: " + e.getMessage());
            return ExitCodes.VM_FAILED;
        }
        Path kernel = boot.kernel();
        byte[] initrd = boot.initrd();
        String cmdline = RunCommand.cmdline(o);
        OutputStream console = o.console() ? out : new CommandOutputFilter(out, false, false);
        VmConfig config = new VmConfig(o.cpus(), o.memoryMiB() << 20, kernel, initrd, cmdline, console);
        try (HartPool pool = HartPool.perCore();
             DeviceEventLoop devices = DeviceEventLoop.start(1, "airlock-virtio")) {
            MicroVm machine;
            try {
                machine = MicroVm.create(config, o.disks(), name, RuntimeDir.fromEnvironment(), pool, devices);
            } catch (BootException | IOException e) {
                err.println("airlock: " + e.getMessage());
                return ExitCodes.USAGE;
            }
            return runInForeground(machine, name, timeout, "", err);
        }
    }

    /**
     * Runs a created VM in the foreground until it ends: its control socket answers {@code airlock ps},
     * {@code stop --force} and {@code reset}; Ctrl-C stops it; it is closed at the end. Returns the exit code.
     *
     * @param origin said when it is running, e.g. ", cloned from web"
     */
    static int runInForeground(MicroVm machine, String name, Duration timeout, String origin, PrintStream err)
            throws InterruptedException {
        // Ctrl-C or kill: stop the guest and remove the socket rather than leave them behind.
        Thread hook = new Thread(() -> machine.vm().stop(VmResult.Outcome.STOPPED, "the airlock process was interrupted"));
        Runtime.getRuntime().addShutdownHook(hook);
        VmResult result;
        VmControl control = null;
        try {
            RuntimeDir runtime = RuntimeDir.fromEnvironment();
            control = VmControl.listen(runtime.controlSocket(name), machine::status,
                    () -> machine.vm().stop(VmResult.Outcome.STOPPED, "stopped by 'airlock stop --force'"), () -> {
                        try {
                            machine.resetToTemplate();
                            return null;
                        } catch (IOException | RuntimeException e) {
                            return e.getMessage();
                        } catch (InterruptedException e) {
                            Thread.currentThread().interrupt();
                            return "interrupted";
                        }
                    });
            machine.start();
            try (AgentClient agent = machine.connectAgent(timeout)) {
                err.println("airlock: " + name + " is running" + origin + " (guest CID " + machine.cid() + ", vsock "
                        + machine.vsockSocket() + "); 'airlock exec " + name + " -- CMD' runs a command, 'airlock stop "
                        + name + "' stops it");
            } catch (AgentException e) {
                if (!machine.vm().hasEnded()) err.println("airlock: the guest agent did not answer: " + e.getMessage());
            }
            result = machine.await(timeout);
        } catch (IOException e) {
            err.println("airlock: " + e.getMessage());
            return ExitCodes.VM_FAILED;
        } finally {
            if (control != null) control.close();
            machine.close();
            try {
                Runtime.getRuntime().removeShutdownHook(hook);
            } catch (IllegalStateException ignored) {
                // already shutting down
            }
        }
        return switch (result.outcome()) {
            case POWEROFF -> 0;
            case STOPPED -> result.reason().contains("airlock stop") ? 0 : failed(name, result, err);
            case TIMEOUT -> {
                err.println("airlock: " + name + ": " + result.reason());
                yield ExitCodes.TIMEOUT;
            }
            default -> failed(name, result, err);
        };
    }

    private static int failed(String name, VmResult result, PrintStream err) {
        err.println("airlock: " + name + " ended: " + result.outcome() + " (" + result.reason() + "); last console lines:");
        for (String line : result.consoleTail()) err.println("  | " + line);
        return ExitCodes.VM_FAILED;
    }
}
