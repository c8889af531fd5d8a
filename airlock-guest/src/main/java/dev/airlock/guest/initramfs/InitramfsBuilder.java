package dev.airlock.guest.initramfs;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Builds Airlock's guest initramfs: a static busybox and an {@code /init} script that prepares the
 * guest, prints {@value #READY_MARKER}, runs {@value #COMMAND_SCRIPT} (or a console shell), prints
 * {@code @@AIRLOCK:EXIT <status>@@} and powers off. With the guest agent and no command script, /init
 * starts {@value #AGENT_PATH} on vsock port {@value #AGENT_PORT} instead and keeps the VM up while it runs.
 *
 * <p>The per-run command travels as a second, tiny archive from {@link #commandArchive}; the
 * kernel unpacks concatenated newc archives in turn, so the VM loads the cached base archive and
 * the command archive back to back and the base never has to be rebuilt.
 *
 * <p>The archive is uncompressed on purpose: gunzip costs ~33 M guest instructions at boot.
 */
public final class InitramfsBuilder {

    /** Bump when the archive's layout changes in a way /init's text does not show: cached archives are keyed by it. */
    public static final int FORMAT = 3;

    public static final String READY_MARKER = "@@AIRLOCK:READY@@";
    public static final String EXIT_MARKER_PREFIX = "@@AIRLOCK:EXIT ";
    public static final String MARKER_SUFFIX = "@@";
    /** Where the command archive puts the command; /init runs it if present. */
    public static final String COMMAND_SCRIPT = "/airlock/cmd.sh";
    /** The virtio drivers Debian's kernel builds as modules, in a working load order. */
    public static final List<String> VIRTIO_MODULES = List.of(
            "virtio_mmio", "virtio_blk", "virtio-rng",
            "vsock", "vmw_vsock_virtio_transport_common", "vmw_vsock_virtio_transport");

    /** Where the agent lives in the guest, and the vsock port /init starts it on. */
    public static final String AGENT_PATH = "/sbin/airlock-agent";
    public static final int AGENT_PORT = dev.airlock.guest.agent.AgentClient.AGENT_VSOCK_PORT;

    private static final Pattern EXIT_MARKER = Pattern.compile("@@AIRLOCK:EXIT (\\d{1,3})@@");
    private static final Pattern ENV_NAME = Pattern.compile("[A-Za-z_][A-Za-z0-9_]*");

    private final Path busybox;
    private Path kernelModulesDir;
    private List<String> moduleNames = List.of();
    private Path agent;

    public InitramfsBuilder(Path busybox) {
        this.busybox = busybox;
    }

    /**
     * Adds kernel modules (with their dependencies), decompressed into
     * {@code /lib/modules/<release>/}, for /init to insmod in order before the ready marker.
     */
    public InitramfsBuilder withModules(Path kernelModulesDir, List<String> moduleNames) {
        this.kernelModulesDir = kernelModulesDir;
        this.moduleNames = List.copyOf(moduleNames);
        return this;
    }

    /** Adds the guest agent executable as {@value #AGENT_PATH}. */
    public InitramfsBuilder withAgent(Path agentExecutable) {
        this.agent = agentExecutable;
        return this;
    }

    public byte[] build() throws IOException {
        byte[] busyboxBytes = Files.readAllBytes(busybox);
        byte[] agentBytes = agent == null ? null : Files.readAllBytes(agent);
        List<KernelModules.Module> modules = List.of();
        String modulesPath = null;
        if (!moduleNames.isEmpty()) {
            KernelModules index = KernelModules.open(kernelModulesDir);
            modules = index.resolve(moduleNames);
            modulesPath = "/lib/modules/" + index.kernelRelease();
        }
        var insmodPaths = new ArrayList<String>();
        for (var module : modules) {
            insmodPaths.add(modulesPath + "/" + module.name() + ".ko");
        }
        String init = initScript(insmodPaths);
        String moduleDir = modulesPath;
        List<KernelModules.Module> moduleFiles = modules;
        return CpioWriter.archive(cpio -> {
            for (String dir : List.of("bin", "sbin", "usr", "usr/bin", "usr/sbin", "etc", "root", "tmp", "mnt",
                    "airlock")) {
                cpio.directory(dir, 0755);
            }
            cpio.directory("proc", 0555);
            cpio.directory("sys", 0555);
            cpio.directory("dev", 0755);
            // Present before devtmpfs is mounted, and if it cannot be: the kernel opens
            // /dev/console for init's stdio before /init runs.
            cpio.charDevice("dev/console", 0600, 5, 1);
            cpio.charDevice("dev/null", 0666, 1, 3);
            cpio.file("bin/busybox", 0755, busyboxBytes);
            cpio.symlink("bin/sh", "busybox");
            cpio.file("init", 0755, init.getBytes(StandardCharsets.UTF_8));
            if (agentBytes != null) cpio.file(AGENT_PATH.substring(1), 0755, agentBytes);
            for (var module : moduleFiles) {
                cpio.file(moduleDir + "/" + module.name() + ".ko", 0644, module.content());
            }
        });
    }

    /** The /init script; {@code insmodPaths} are guest paths of modules to load, in order. */
    public static String initScript(List<String> insmodPaths) {
        var insmods = new StringBuilder();
        for (String path : insmodPaths) {
            insmods.append("insmod ").append(shellQuote(path))
                    .append(" || echo ").append(shellQuote("airlock: insmod " + path + " failed")).append(" >&2\n");
        }
        return """
                #!/bin/busybox sh
                # Airlock guest init, generated by dev.airlock.guest.initramfs.InitramfsBuilder.
                # busybox --install finds itself through /proc/self/exe, so mount proc first.
                /bin/busybox mount -t proc proc /proc
                /bin/busybox --install -s
                export PATH=/bin:/sbin:/usr/bin:/usr/sbin HOME=/root TERM=linux
                umask 022
                mount -t sysfs sysfs /sys
                mount -t devtmpfs devtmpfs /dev || echo 'airlock: cannot mount devtmpfs on /dev' >&2
                %secho '%s'
                if [ -f %s ]; then
                  sh %s </dev/console
                  status=$?
                  echo "%s$status%s"
                elif [ -x %s ]; then
                  # The host drives the VM through the agent; the VM lives as long as the agent does.
                  %s --listen vsock:%d </dev/null
                  echo "airlock: the guest agent exited with status $?" >&2
                else
                  setsid cttyhack sh
                fi
                sync
                poweroff -f
                # poweroff returns only if the SBI reset failed; init must not exit or the kernel panics.
                while :; do sleep 3600; done
                """.formatted(insmods, READY_MARKER, COMMAND_SCRIPT, COMMAND_SCRIPT, EXIT_MARKER_PREFIX, MARKER_SUFFIX,
                AGENT_PATH, AGENT_PATH, AGENT_PORT);
    }

    /**
     * A newc archive holding only {@value #COMMAND_SCRIPT}, which exports {@code env} and runs
     * {@code argv} exactly: every argument is single-quoted, so nothing in it is expanded or split.
     */
    public static byte[] commandArchive(List<String> argv, Map<String, String> env) {
        byte[] script = commandScript(argv, env).getBytes(StandardCharsets.UTF_8);
        return CpioWriter.archive(cpio -> cpio.file(COMMAND_SCRIPT, 0755, script));
    }

    /**
     * {@code base} followed by {@code next}, which the kernel unpacks after it (later files win):
     * how a cached base archive gets a per-run command archive. newc archives start 4-byte aligned.
     */
    public static byte[] append(byte[] base, byte[] next) {
        int padded = (base.length + 3) & ~3;
        byte[] all = new byte[padded + next.length];
        System.arraycopy(base, 0, all, 0, base.length);
        System.arraycopy(next, 0, all, padded, next.length);
        return all;
    }

    /** The text of {@value #COMMAND_SCRIPT}; see {@link #commandArchive}. */
    public static String commandScript(List<String> argv, Map<String, String> env) {
        if (argv.isEmpty()) {
            throw new IllegalArgumentException("no command given");
        }
        var script = new StringBuilder("#!/bin/sh\n# Generated by Airlock: run one command with its arguments exactly as given.\n");
        for (var variable : new TreeMap<>(env).entrySet()) {
            if (!ENV_NAME.matcher(variable.getKey()).matches()) {
                throw new IllegalArgumentException("not a valid environment variable name: '" + variable.getKey() + "'");
            }
            script.append("export ").append(variable.getKey()).append('=').append(shellQuote(variable.getValue())).append('\n');
        }
        script.append("set --");
        for (String argument : argv) {
            script.append(' ').append(shellQuote(argument));
        }
        // Not exec: "$@" also runs shell builtins, and a missing command gets the shell's
        // "not found" message and status 127.
        return script.append("\n\"$@\"\n").toString();
    }

    /** POSIX single-quoting: 'it'\''s' is the word it's. */
    public static String shellQuote(String word) {
        if (word.indexOf('\0') >= 0) {
            throw new IllegalArgumentException("a shell word cannot contain a NUL character");
        }
        return "'" + word.replace("'", "'\\''") + "'";
    }

    /** The exit status from an {@code @@AIRLOCK:EXIT n@@} marker anywhere in a console line. */
    public static OptionalInt parseExitMarker(String consoleLine) {
        Matcher matcher = EXIT_MARKER.matcher(consoleLine);
        return matcher.find() ? OptionalInt.of(Integer.parseInt(matcher.group(1))) : OptionalInt.empty();
    }
}
