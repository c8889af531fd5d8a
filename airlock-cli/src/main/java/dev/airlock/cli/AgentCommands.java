package dev.airlock.cli;

import dev.airlock.guest.agent.AgentClient;
import dev.airlock.guest.agent.AgentException;
import dev.airlock.guest.agent.AgentRemoteException;
import dev.airlock.guest.agent.AgentUnreachableException;
import dev.airlock.guest.agent.ExecProcess;
import dev.airlock.guest.agent.ExecRequest;
import dev.airlock.guest.agent.ExitStatus;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** {@code airlock exec}, {@code cp} and {@code stop}: commands that talk to a running VM's agent by name. */
final class AgentCommands {
    static final String EXEC_USAGE = """
            usage: airlock exec NAME [-i] [-e NAME=VALUE]... [-w DIR] -- COMMAND [ARG...]
              Runs COMMAND in the running VM NAME (see 'airlock start') and exits with its status.
              -i              pass this process's standard input to the command
              -e NAME=VALUE   set an environment variable (repeatable)
              -w DIR          working directory in the guest""";
    static final String CP_USAGE = """
            usage: airlock cp [--mode OCTAL] SRC DEST
              Copies a file into or out of a running VM: exactly one of SRC and DEST is NAME:PATH,
              e.g. airlock cp ./data.csv web:/tmp/data.csv   or   airlock cp web:/etc/os-release ./os-release
              --mode OCTAL    permissions of a file copied into the guest (default: the host file's, else 0644)""";
    static final String STOP_USAGE = """
            usage: airlock stop [--force] NAME
              Asks the running VM NAME to sync its disks and power off through its agent; if the agent does
              not answer (or with --force), the VM is stopped at once.""";

    private static final Duration CONNECT_TIMEOUT = Duration.ofSeconds(10);

    private AgentCommands() {}

    private static AgentClient connect(String name) throws UsageException, AgentException, InterruptedException {
        RuntimeDir.checkName(name);
        Path socket = RuntimeDir.fromEnvironment().vsockSocket(name);
        if (!Files.exists(socket)) {
            throw new AgentUnreachableException("no running VM is named '" + name + "' (no " + socket
                    + "); start one with: airlock start " + name);
        }
        return AgentClient.awaitVsock(socket, CONNECT_TIMEOUT, () -> false);
    }

    static int exec(String[] args, PrintStream out, PrintStream err) throws UsageException, InterruptedException {
        if (args.length == 0 || args[0].startsWith("-")) throw new UsageException("exec needs a VM name first");
        String name = args[0];
        boolean stdin = false;
        Map<String, String> env = new LinkedHashMap<>();
        String cwd = null;
        int i = 1;
        for (; i < args.length; i++) {
            String a = args[i];
            if (a.equals("--")) { i++; break; }
            if (!a.startsWith("-")) break;
            switch (a) {
                case "-i" -> stdin = true;
                case "-e" -> {
                    if (++i >= args.length) throw new UsageException("-e needs NAME=VALUE");
                    int eq = args[i].indexOf('=');
                    if (eq <= 0) throw new UsageException("-e takes NAME=VALUE, not '" + args[i] + "'");
                    env.put(args[i].substring(0, eq), args[i].substring(eq + 1));
                }
                case "-w" -> {
                    if (++i >= args.length) throw new UsageException("-w needs a directory");
                    cwd = args[i];
                }
                default -> throw new UsageException("unknown option " + a);
            }
        }
        List<String> command = List.of(args).subList(i, args.length);
        if (command.isEmpty()) throw new UsageException("no command given: airlock exec " + name + " -- CMD ARGS");
        ExecRequest request = ExecRequest.of(command).withEnv(env);
        if (cwd != null) request = request.withCwd(cwd);
        if (stdin) request = request.withStdin();
        try (AgentClient agent = connect(name)) {
            ExecProcess process = agent.exec(request);
            Thread o = Streams.pump(process.stdout(), out);
            Thread e = Streams.pump(process.stderr(), err);
            if (stdin) {
                Thread.ofVirtual().start(() -> {
                    try (OutputStream to = process.stdin()) {
                        System.in.transferTo(to);
                    } catch (IOException ignored) {
                        // the command ended or closed its input
                    }
                });
            }
            ExitStatus status = process.waitFor();
            o.join();
            e.join();
            return status.signal().isPresent() ? 128 + status.signal().getAsInt() : status.exitCode();
        } catch (AgentRemoteException e) {
            err.println("airlock: " + name + ": " + e.getMessage());
            return 127;
        } catch (AgentException e) {
            err.println("airlock: " + name + ": " + e.getMessage());
            return ExitCodes.VM_FAILED;
        }
    }

    static int copy(String[] args, PrintStream out, PrintStream err) throws UsageException, InterruptedException {
        List<String> operands = new ArrayList<>();
        Integer mode = null;
        for (int i = 0; i < args.length; i++) {
            if (args[i].equals("--mode")) {
                if (++i >= args.length) throw new UsageException("--mode needs an octal number, e.g. 0755");
                try {
                    mode = Integer.parseInt(args[i], 8);
                } catch (NumberFormatException e) {
                    throw new UsageException("--mode takes an octal number like 0644, not '" + args[i] + "'");
                }
                if (mode < 0 || mode > 07777) throw new UsageException("--mode must be between 0 and 07777");
            } else {
                operands.add(args[i]);
            }
        }
        if (operands.size() != 2) throw new UsageException("cp takes SRC and DEST");
        String src = operands.get(0), dst = operands.get(1);
        int srcColon = vmSeparator(src), dstColon = vmSeparator(dst);
        if ((srcColon < 0) == (dstColon < 0)) {
            throw new UsageException("exactly one of SRC and DEST must be NAME:PATH (a file in a running VM)");
        }
        boolean into = dstColon >= 0;
        String spec = into ? dst : src;
        int colon = into ? dstColon : srcColon;
        String name = spec.substring(0, colon), guestPath = spec.substring(colon + 1);
        if (!guestPath.startsWith("/")) throw new UsageException("the guest path must be absolute, not '" + guestPath + "'");
        Path hostPath = Path.of(into ? src : dst);
        if (into && !Files.isRegularFile(hostPath)) {
            throw new UsageException("'" + hostPath + "' is not a file on this host");
        }
        try (AgentClient agent = connect(name)) {
            if (into) {
                int m = mode != null ? mode : hostMode(hostPath);
                long n = agent.putFile(hostPath, guestPath, m);
                err.println("airlock: copied " + n + " bytes to " + name + ":" + guestPath);
            } else {
                if (Files.isDirectory(hostPath)) hostPath = hostPath.resolve(Path.of(guestPath).getFileName().toString());
                long n = agent.getFile(guestPath, hostPath);
                err.println("airlock: copied " + n + " bytes to " + hostPath);
            }
            return 0;
        } catch (AgentRemoteException e) {
            err.println("airlock: " + spec + ": " + e.getMessage());
            return 1;
        } catch (AgentException e) {
            err.println("airlock: " + name + ": " + e.getMessage());
            return ExitCodes.VM_FAILED;
        } catch (IOException e) {
            err.println("airlock: " + hostPath + ": " + e.getMessage());
            return 1;
        }
    }

    /** Where NAME:PATH splits, or -1 for a host path ("./a:b" and "/x:y" are host paths). */
    private static int vmSeparator(String operand) {
        int colon = operand.indexOf(':');
        if (colon <= 0) return -1;
        String name = operand.substring(0, colon);
        return name.contains("/") ? -1 : colon;
    }

    private static int hostMode(Path file) {
        try {
            int mode = 0;
            for (var p : Files.getPosixFilePermissions(file)) mode |= 1 << (8 - p.ordinal());
            return mode;
        } catch (IOException | UnsupportedOperationException e) {
            return 0644;
        }
    }

    static int stop(String[] args, PrintStream out, PrintStream err) throws UsageException, InterruptedException {
        boolean force = args.length == 2 && args[0].equals("--force");
        if (args.length != 1 && !force) throw new UsageException("stop takes one VM name (and --force)");
        String name = args[args.length - 1];
        RuntimeDir.checkName(name);
        RuntimeDir runtime = RuntimeDir.fromEnvironment();
        Path socket = runtime.vsockSocket(name);
        if (!Files.exists(socket)) {
            err.println("airlock: no running VM is named '" + name + "'");
            return ExitCodes.USAGE;
        }
        boolean asked = false;
        if (!force) {
            try (AgentClient agent = AgentClient.awaitVsock(socket, CONNECT_TIMEOUT, () -> false)) {
                // The exit status never comes: the guest powers off under the agent and the connection drops.
                // Wait for that; closing first would make the agent kill the command.
                agent.exec(ExecRequest.of("sh", "-c", "sync; poweroff -f")).waitFor(Duration.ofSeconds(60));
                asked = true;
            } catch (AgentUnreachableException e) {
                err.println("airlock: " + name + ": the agent does not answer (" + e.getMessage() + "); stopping the VM");
            } catch (AgentException e) {
                asked = true; // the connection dropped as the guest went down
            }
        }
        if (!asked) {
            try {
                VmControl.ask(runtime.controlSocket(name), "STOP", Duration.ofSeconds(5));
            } catch (IOException e) {
                err.println("airlock: " + name + ": cannot stop it: " + e.getMessage());
                return ExitCodes.VM_FAILED;
            }
        }
        // 'airlock start' removes the socket once the VM is gone.
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (Files.exists(socket) && System.nanoTime() < deadline) Thread.sleep(50);
        if (Files.exists(socket)) {
            err.println("airlock: " + name + " did not stop within 60 s");
            return ExitCodes.VM_FAILED;
        }
        return 0;
    }

    static final String RESET_USAGE = """
            usage: airlock reset NAME
              Puts the running clone NAME back to its template: its memory and state are the template's
              again and its private memory is freed; its name, CID and sockets stay.""";

    static int reset(String[] args, PrintStream out, PrintStream err) throws UsageException, InterruptedException {
        if (args.length != 1) throw new UsageException("reset takes one VM name");
        String name = args[0];
        RuntimeDir.checkName(name);
        Path control = RuntimeDir.fromEnvironment().controlSocket(name);
        if (!Files.exists(control)) {
            err.println("airlock: no running VM is named '" + name + "'");
            return ExitCodes.USAGE;
        }
        try {
            String answer = VmControl.ask(control, "RESET", Duration.ofSeconds(60));
            if (answer.contains("\"reset\":true")) return 0;
            err.println("airlock: cannot reset " + name + ": " + answer.replaceAll("^\\{\"error\":\"|\"}$", ""));
            return ExitCodes.VM_FAILED;
        } catch (IOException e) {
            err.println("airlock: " + name + ": " + e.getMessage());
            return ExitCodes.VM_FAILED;
        }
    }
}
