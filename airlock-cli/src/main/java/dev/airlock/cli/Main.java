package dev.airlock.cli;

import java.io.PrintStream;

/** The {@code airlock} command. */
public final class Main {
    static final String USAGE = """
            usage: airlock COMMAND [ARGS]
              run [OPTIONS] -- CMD ARGS...   boot a fresh micro-VM, run CMD in it, exit with its status
              start NAME [OPTIONS]           boot a VM and keep it running in the foreground
              exec NAME [-i] -- CMD ARGS...  run CMD in the running VM NAME, exit with its status
              cp SRC DEST                    copy a file into or out of a running VM (NAME:PATH)
              stop [--force] NAME            sync and power off the running VM NAME
              ps [--json]                    list running VMs and the host memory they really use
              template create|ls|rm ...      save a prepared VM as a template; list or delete templates
              clone TEMPLATE [-n N] [-- CMD] start VMs from a template (copy-on-write) and run CMD in them
              reset NAME                     put the running clone NAME back to its template
              image create|import|export|snapshot|clone|ls|fsck ...
                                             disk images in the store ($AIRLOCK_STORE, else ~/.local/share/airlock/store)
              initrd OUT [--disk-modules] [-- CMD ARGS...]
                                             write a console-mode initramfs (to boot the same bytes on other VMMs)
              kernel                         print the path of the cached guest kernel
              version                        print the version
            'airlock run --help' shows the run options.""";

    private Main() {}

    public static void main(String[] args) throws Exception {
        System.exit(run(args, System.out, System.err));
    }

    static int run(String[] args, PrintStream out, PrintStream err) throws InterruptedException {
        if (args.length == 0 || args[0].equals("--help") || args[0].equals("help")) {
            (args.length == 0 ? err : out).println(USAGE);
            return args.length == 0 ? ExitCodes.USAGE : 0;
        }
        String[] rest = java.util.Arrays.copyOfRange(args, 1, args.length);
        try {
            return switch (args[0]) {
                case "run" -> {
                    if (rest.length > 0 && rest[0].equals("--help")) {
                        out.println(RunCommand.USAGE);
                        yield 0;
                    }
                    try {
                        yield RunCommand.run(rest, out, err);
                    } catch (UsageException e) {
                        err.println("airlock run: " + e.getMessage());
                        err.println(RunCommand.USAGE);
                        yield ExitCodes.USAGE;
                    }
                }
                case "start" -> guarded("start", StartCommand.USAGE, rest, out, err, StartCommand::run);
                case "exec" -> guarded("exec", AgentCommands.EXEC_USAGE, rest, out, err, AgentCommands::exec);
                case "cp" -> guarded("cp", AgentCommands.CP_USAGE, rest, out, err, AgentCommands::copy);
                case "stop" -> guarded("stop", AgentCommands.STOP_USAGE, rest, out, err, AgentCommands::stop);
                case "template" -> guarded("template", TemplateCommand.USAGE, rest, out, err, TemplateCommand::run);
                case "clone" -> guarded("clone", CloneCommand.USAGE, rest, out, err, CloneCommand::run);
                case "reset" -> guarded("reset", AgentCommands.RESET_USAGE, rest, out, err, AgentCommands::reset);
                case "ps" -> guarded("ps", PsCommand.USAGE, rest, out, err, PsCommand::run);
                case "bench-agent" -> guarded("bench-agent", "usage: airlock bench-agent NAME [ROUNDS] [MiB]", rest, out, err,
                        AgentBench::run);
                case "bench-clone" -> guarded("bench-clone", CloneBench.USAGE, rest, out, err, CloneBench::run);
                case "bench-repeat" -> guarded("bench-repeat", REPEAT_USAGE, rest, out, err, Main::repeat);
                case "initrd" -> RunCommand.writeInitrd(rest, err);
                case "image" -> dev.airlock.store.cli.ImageCommand.run(rest, out, err, StoreBlockBackend.defaultRoot());
                case "kernel" -> {
                    try {
                        out.println(dev.airlock.guest.assets.GuestAssets.open(
                                dev.airlock.guest.assets.GuestAssets.defaultCacheDir(),
                                dev.airlock.guest.assets.ProgressListener.stderr()).kernelImage());
                        yield 0;
                    } catch (dev.airlock.guest.assets.GuestAssetException e) {
                        err.println("airlock: " + e.getMessage());
                        yield ExitCodes.VM_FAILED;
                    }
                }
                case "version", "--version" -> {
                    out.println("airlock " + version());
                    yield 0;
                }
                default -> throw new UsageException("unknown command '" + args[0] + "'");
            };
        } catch (UsageException e) {
            err.println("airlock: " + e.getMessage());
            err.println(USAGE);
            return ExitCodes.USAGE;
        }
    }

    static final String REPEAT_USAGE = """
            usage: airlock bench-repeat N COMMAND [ARGS]
              runs an airlock COMMAND N times in this one JVM and says how long each took: what the later
              runs save is the JVM's own warm-up (class loading, HotSpot compiling Airlock)""";

    /** {@code bench-repeat N COMMAND…}: the command's status from its last run. */
    private static int repeat(String[] args, PrintStream out, PrintStream err) throws UsageException, InterruptedException {
        if (args.length < 2) throw new UsageException("needs a count and a command");
        int n;
        try {
            n = Integer.parseInt(args[0]);
        } catch (NumberFormatException e) {
            throw new UsageException("the count must be a whole number, not '" + args[0] + "'");
        }
        if (n < 1) throw new UsageException("the count must be at least 1, not " + n);
        if (args[1].equals("bench-repeat")) throw new UsageException("bench-repeat does not repeat itself");
        String[] command = java.util.Arrays.copyOfRange(args, 1, args.length);
        int status = 0;
        for (int i = 1; i <= n; i++) {
            long t0 = System.nanoTime();
            status = run(command, out, err);
            err.printf("airlock: bench-repeat: run %d of %d: %d ms, exit %d%n", i, n, (System.nanoTime() - t0) / 1_000_000, status);
        }
        return status;
    }

    interface Subcommand {
        int run(String[] args, PrintStream out, PrintStream err) throws UsageException, InterruptedException;
    }

    /** Runs a subcommand: --help prints its usage; a usage error prints the problem, then the usage. */
    private static int guarded(String name, String usage, String[] args, PrintStream out, PrintStream err, Subcommand c)
            throws InterruptedException {
        if (args.length > 0 && args[0].equals("--help")) {
            out.println(usage);
            return 0;
        }
        try {
            return c.run(args, out, err);
        } catch (UsageException e) {
            err.println("airlock " + name + ": " + e.getMessage());
            err.println(usage);
            return ExitCodes.USAGE;
        }
    }

    static String version() {
        String v = Main.class.getPackage().getImplementationVersion();
        return v == null ? "development build" : v;
    }
}
