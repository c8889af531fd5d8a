package dev.airlock.cli;

import dev.airlock.guest.agent.AgentClient;
import dev.airlock.guest.agent.AgentRemoteException;
import dev.airlock.guest.agent.ExecRequest;
import dev.airlock.vmm.sched.HartPool;
import dev.airlock.vmm.virtio.DeviceEventLoop;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * {@code airlock clone TEMPLATE [-n N] [--name NAME] -- CMD}: starts VMs from a template, whose
 * memory they map copy-on-write, and runs CMD in each through its agent. Without a command it
 * keeps one clone running in the foreground, like {@code airlock start}.
 */
final class CloneCommand {
    static final String USAGE = """
            usage: airlock clone TEMPLATE [-n N] [--name NAME] [--timeout SECONDS] [--console] [--timings] [-- CMD ARG...]
              Starts N VMs (default 1) from TEMPLATE and runs CMD in each; exits with the first non-zero status.
              With N > 1 each output line starts with [i]. Without CMD, one clone runs in the foreground until
              'airlock stop NAME'; 'airlock exec NAME' reaches it. --timeout defaults to 300 s with a command.""";

    private CloneCommand() {}

    record Options(String template, int count, String name, Duration timeout, boolean console, boolean timings,
                   List<String> command) {}

    static Options parse(String[] args) throws UsageException {
        if (args.length == 0 || args[0].startsWith("-")) throw new UsageException("clone needs a template name first");
        String template = args[0];
        int count = 1;
        String name = null;
        Duration timeout = null;
        boolean console = false, timings = false;
        int i = 1;
        for (; i < args.length; i++) {
            String a = args[i];
            if (a.equals("--")) {
                i++;
                break;
            }
            switch (a) {
                case "-n" -> count = (int) RunCommand.number(a, RunCommand.value(args, ++i, a), 1, 4096);
                case "--name" -> {
                    name = RunCommand.value(args, ++i, a);
                    RuntimeDir.checkName(name);
                }
                case "--timeout" -> timeout = Duration.ofSeconds(RunCommand.number(a, RunCommand.value(args, ++i, a), 1, 86_400));
                case "--console" -> console = true;
                case "--timings" -> timings = true;
                default -> throw new UsageException("unknown option " + a);
            }
        }
        List<String> command = List.of(args).subList(i, args.length);
        if (command.isEmpty() && count != 1) throw new UsageException("-n needs a command to run in the clones");
        return new Options(template, count, name, timeout, console, timings, command);
    }

    static int run(String[] args, PrintStream out, PrintStream err) throws UsageException, InterruptedException {
        Options o = parse(args);
        Templates.Template template;
        try {
            template = Templates.fromEnvironment().open(o.template());
        } catch (IOException e) {
            err.println("airlock: " + TemplateCommand.message(e));
            return ExitCodes.USAGE;
        }
        if (template.sharesContent() && !ksmRunning()) {
            err.println("airlock: template " + o.template() + " shares content, but the host's KSM is off;"
                    + " as root: echo 1 > /sys/kernel/mm/ksm/run");
        }
        RuntimeDir runtime = RuntimeDir.fromEnvironment();
        String base = o.name() != null ? o.name() : "clone-" + ProcessHandle.current().pid();
        try (HartPool pool = HartPool.perCore();
             DeviceEventLoop devices = DeviceEventLoop.start(1, "airlock-virtio")) {
            if (o.command().isEmpty()) return foreground(o, template, base, runtime, pool, devices, out, err);
            Duration timeout = o.timeout() != null ? o.timeout() : Duration.ofSeconds(300);
            List<MicroVm> machines = new ArrayList<>();
            try {
                long t0 = System.nanoTime();
                for (int i = 0; i < o.count(); i++) {
                    String name = o.count() == 1 ? base : base + "-" + i;
                    OutputStream console = o.console() ? new LinePrefix(err, o.count() == 1 ? "" : "[" + i + "] ") : OutputStream.nullOutputStream();
                    MicroVm m = MicroVm.clone(template, name, runtime, pool, devices, console);
                    machines.add(m);
                    m.start();
                }
                long started = System.nanoTime();
                int status = runEverywhere(machines, o, timeout, out, err);
                if (o.timings()) {
                    err.printf("airlock: timings: clones=%d create_and_start_ms=%.1f command_ms=%.1f%n", o.count(),
                            (started - t0) / 1e6, (System.nanoTime() - started) / 1e6);
                }
                return status;
            } catch (IOException e) {
                err.println("airlock: cannot clone " + o.template() + ": " + e.getMessage());
                return ExitCodes.VM_FAILED;
            } finally {
                for (MicroVm m : machines) m.close();
            }
        }
    }

    private static boolean ksmRunning() {
        try {
            return java.nio.file.Files.readString(java.nio.file.Path.of("/sys/kernel/mm/ksm/run")).strip().equals("1");
        } catch (IOException e) {
            return false;
        }
    }

    /** Runs the command in every clone at once; prints each clone's output whole, in clone order. */
    private static int runEverywhere(List<MicroVm> machines, Options o, Duration timeout, PrintStream out, PrintStream err)
            throws InterruptedException {
        try (ExecutorService workers = Executors.newVirtualThreadPerTaskExecutor()) {
            List<Future<AgentClient.Result>> results = new ArrayList<>();
            for (MicroVm m : machines) {
                results.add(workers.submit(() -> {
                    try (AgentClient agent = m.connectAgent(timeout)) {
                        return agent.run(ExecRequest.of(o.command()));
                    }
                }));
            }
            int status = 0;
            for (int i = 0; i < results.size(); i++) {
                String prefix = machines.size() == 1 ? "" : "[" + i + "] ";
                int code;
                try {
                    AgentClient.Result r = results.get(i).get();
                    print(out, prefix, r.stdout());
                    print(err, prefix, r.stderr());
                    code = r.exitCode();
                } catch (java.util.concurrent.ExecutionException e) {
                    Throwable cause = e.getCause();
                    if (cause instanceof AgentRemoteException re) {
                        err.println("airlock: " + prefix + o.command().getFirst() + ": " + re.remoteMessage());
                        code = 127;
                    } else {
                        err.println("airlock: " + prefix + "clone " + machines.get(i).name() + " failed: " + cause.getMessage());
                        code = ExitCodes.VM_FAILED;
                    }
                }
                if (status == 0) status = code;
            }
            return status;
        }
    }

    private static void print(PrintStream to, String prefix, byte[] bytes) {
        if (bytes.length == 0) return;
        if (prefix.isEmpty()) {
            to.write(bytes, 0, bytes.length);
            to.flush();
            return;
        }
        String text = new String(bytes, StandardCharsets.UTF_8);
        for (String line : text.split("\n", -1)) {
            if (!line.isEmpty()) to.println(prefix + line);
        }
    }

    /** One clone in the foreground until it powers off or is stopped, like {@code airlock start}. */
    private static int foreground(Options o, Templates.Template template, String name, RuntimeDir runtime, HartPool pool,
                                  DeviceEventLoop devices, PrintStream out, PrintStream err) throws InterruptedException {
        MicroVm machine;
        try {
            machine = MicroVm.clone(template, name, runtime, pool, devices, o.console() ? out : OutputStream.nullOutputStream());
        } catch (IOException e) {
            err.println("airlock: cannot clone " + o.template() + ": " + e.getMessage());
            return ExitCodes.VM_FAILED;
        }
        return StartCommand.runInForeground(machine, name, o.timeout() != null ? o.timeout() : Duration.ofDays(365),
                ", cloned from " + o.template(), err);
    }

    /** Console bytes with a prefix at the start of each line. */
    private static final class LinePrefix extends OutputStream {
        private final PrintStream to;
        private final byte[] prefix;
        private boolean atLineStart = true;

        LinePrefix(PrintStream to, String prefix) {
            this.to = to;
            this.prefix = prefix.getBytes(StandardCharsets.UTF_8);
        }

        @Override
        public synchronized void write(int b) {
            if (atLineStart) to.write(prefix, 0, prefix.length);
            to.write(b);
            atLineStart = b == '\n';
        }
    }
}
