// The QEMU half of scripts/bench-clone.sh: boots QEMU TCG with a console-mode initramfs that prints
// "tick" lines, saves the running VM to a file through the HMP monitor (stop; migrate "exec:cat > FILE"),
// then restores it N times with -incoming "exec:cat FILE" and measures process start -> the state loaded
// (the VM paused, as it was saved), -> 'cont' and the monitor's 'info status' saying running, and -> the
// next console line; plus each restored process's RSS and PSS.
//
// The guest must print without timers: QEMU before 10.2 does not save the CLINT's or Sstc's pending
// timer (QEMUTimer) in its migration stream, so a restored guest waiting for a timer (a 'sleep 1')
// never wakes, and its kernel, believing the event programmed, never re-arms it. A busy loop between
// lines keeps the guest running through the save instead.
// A single-file program: java scripts/bench/QemuRestoreBench.java --qemu BIN --kernel K --initrd I --append ARGS

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

public class QemuRestoreBench {
    static String qemu, append;

    static Path kernel, initrd, work;
    static int restores = 20;
    static long bootTimeoutS = 180;
    /** How long after a console line the VM is saved. */
    static long saveDelayMs = 0;

    public static void main(String[] args) throws Exception {
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--qemu" -> qemu = args[++i];
                case "--kernel" -> kernel = Path.of(args[++i]);
                case "--initrd" -> initrd = Path.of(args[++i]);
                case "--append" -> append = args[++i];
                case "--work" -> work = Path.of(args[++i]);
                case "--restores" -> restores = Integer.parseInt(args[++i]);
                case "--save-delay-ms" -> saveDelayMs = Long.parseLong(args[++i]);
                default -> throw new IllegalArgumentException("unknown argument " + args[i]);
            }
        }
        if (qemu == null || kernel == null || initrd == null || append == null || work == null) {
            System.err.println("usage: QemuRestoreBench --qemu BIN --kernel FILE --initrd FILE --append ARGS --work DIR"
                    + " [--restores N] [--save-delay-ms MS]");
            System.exit(2);
        }
        Path state = work.resolve("qemu.state");
        System.out.println("qemu: " + String.join(" ", command(work.resolve("save.mon"), null)));
        save(state);
        System.out.printf("saved: %s, %.1f MiB; load %s%n", state, Files.size(state) / 1048576.0, load());

        double[] loaded = new double[restores], running = new double[restores], line = new double[restores], rss = new double[restores],
                pss = new double[restores];
        for (int i = -1; i < restores; i++) { // one uncounted warm-up (page cache, QEMU's own start)
            Restore r = restore(state, work.resolve("restore.mon"));
            if (i < 0) continue;
            loaded[i] = r.loadedMs;
            running[i] = r.runningMs;
            line[i] = r.lineMs;
            rss[i] = r.rssMiB;
            pss[i] = r.pssMiB;
        }
        System.out.printf("%nQEMU restore, %d runs (after 1 warm-up); load %s%n", restores, load());
        System.out.printf("%-36s %9s %9s %9s %9s%n", "figure", "p50", "p90", "p99", "max");
        print("qemu_start_to_state_loaded_ms", loaded);
        print("qemu_start_to_running_ms", running);
        print("qemu_start_to_next_line_ms", line);
        print("qemu_restored_rss_mib", rss);
        print("qemu_restored_pss_mib", pss);
    }

    static void print(String name, double[] v) {
        double[] s = v.clone();
        Arrays.sort(s);
        System.out.printf("%-36s %9.1f %9.1f %9.1f %9.1f%n", name, pct(s, 50), pct(s, 90), pct(s, 99), s[s.length - 1]);
    }

    static double pct(double[] sorted, int p) {
        int i = (int) Math.ceil(p / 100.0 * sorted.length) - 1;
        return sorted[Math.max(0, Math.min(sorted.length - 1, i))];
    }

    static List<String> command(Path monitor, Path incoming) {
        List<String> c = new ArrayList<>(List.of(qemu, "-M", "virt", "-m", "256", "-smp", "1", "-bios", "default",
                "-display", "none", "-serial", "stdio", "-nic", "none", "-no-reboot",
                "-monitor", "unix:" + monitor + ",server=on,wait=off",
                "-kernel", kernel.toString(), "-initrd", initrd.toString(), "-append", append));
        if (incoming != null) c.addAll(List.of("-incoming", "exec:cat " + incoming));
        return c;
    }

    /** Boots, waits for the guest's lines, saves it just before its next one (see saveDelayMs), quits. */
    static void save(Path state) throws Exception {
        Path mon = work.resolve("save.mon");
        Files.deleteIfExists(mon);
        Files.deleteIfExists(state);
        Process p = new ProcessBuilder(command(mon, null)).redirectErrorStream(true).start();
        try {
            BlockingQueue<Long> lines = lines(p);
            long t0 = System.nanoTime();
            long[] at = new long[12];
            for (int i = 0; i < at.length; i++) {
                Long t = lines.poll(bootTimeoutS, TimeUnit.SECONDS);
                if (t == null) throw new IOException("QEMU printed no 'tick' line");
                at[i] = t;
            }
            long[] gaps = new long[at.length - 3];
            for (int i = 3; i < at.length; i++) gaps[i - 3] = at[i] - at[i - 1];
            Arrays.sort(gaps);
            System.out.printf("booted to its first console line in %.1f s; then a line every %.1f ms (median)%n",
                    (at[0] - t0) / 1e9, gaps[gaps.length / 2] / 1e6);
            lines.clear();
            lines.take();
            Thread.sleep(saveDelayMs);
            try (Monitor m = Monitor.connect(mon, 10_000)) {
                m.command("stop");
                m.command("migrate \"exec:cat > " + state + "\"");
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
                String info;
                while (!(info = m.command("info migrate")).contains("Migration status: completed")) {
                    if (info.contains("failed") || System.nanoTime() > deadline) throw new IOException("migration: " + info);
                    Thread.sleep(20);
                }
                m.send("quit");
            }
            p.waitFor(10, TimeUnit.SECONDS);
        } finally {
            p.destroyForcibly().waitFor();
        }
    }

    record Restore(double loadedMs, double runningMs, double lineMs, double rssMiB, double pssMiB) {}

    static Restore restore(Path state, Path mon) throws Exception {
        Files.deleteIfExists(mon);
        long t0 = System.nanoTime();
        Process p = new ProcessBuilder(command(mon, state)).redirectErrorStream(true).start();
        try {
            BlockingQueue<Long> lines = lines(p);
            long deadline = t0 + TimeUnit.SECONDS.toNanos(60);
            Monitor m = null;
            while (m == null) {
                if (!p.isAlive()) throw new IOException("QEMU exited with " + p.exitValue() + " while restoring");
                m = Monitor.tryConnect(mon);
                if (m == null) Thread.sleep(0, 200_000);
                if (System.nanoTime() > deadline) throw new IOException("no monitor socket at " + mon);
            }
            double loadedMs = Double.NaN, runningMs;
            try (Monitor mm = m) {
                // The VM was saved stopped, so it comes back paused once the state is in: then 'cont'.
                for (String status; !(status = mm.command("info status")).contains("VM status: running"); ) {
                    if (System.nanoTime() > deadline) throw new IOException("the restored VM never ran: " + status);
                    if (status.contains("VM status: paused") && !status.contains("inmigrate") && Double.isNaN(loadedMs)) {
                        loadedMs = (System.nanoTime() - t0) / 1e6;
                        mm.command("cont");
                    }
                }
                runningMs = (System.nanoTime() - t0) / 1e6;
                Long at = lines.poll(30, TimeUnit.SECONDS);
                if (at == null) throw new IOException("no console line after the restore");
                double lineMs = (at - t0) / 1e6;
                Thread.sleep(500); // let it settle, then what does the restored process hold?
                double[] mem = rssPss(p.pid());
                mm.send("quit");
                p.waitFor(10, TimeUnit.SECONDS);
                return new Restore(loadedMs, runningMs, lineMs, mem[0], mem[1]);
            }
        } finally {
            p.destroyForcibly().waitFor();
        }
    }

    /** Timestamps (System.nanoTime) of the guest's "tick" lines on QEMU's stdout. */
    static BlockingQueue<Long> lines(Process p) {
        BlockingQueue<Long> q = new LinkedBlockingQueue<>();
        Thread.ofPlatform().daemon().start(() -> {
            try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
                for (String l; (l = r.readLine()) != null; ) {
                    if (l.contains("tick")) q.add(System.nanoTime());
                }
            } catch (IOException ignored) {
                // the process ended
            }
        });
        return q;
    }

    static double[] rssPss(long pid) {
        double rss = 0, pss = 0;
        try {
            for (String l : Files.readAllLines(Path.of("/proc/" + pid + "/smaps_rollup"))) {
                if (l.startsWith("Rss:")) rss = Long.parseLong(l.replaceAll("\\D", "")) / 1024.0;
                if (l.startsWith("Pss:")) pss = Long.parseLong(l.replaceAll("\\D", "")) / 1024.0;
            }
        } catch (IOException | RuntimeException ignored) {
            // reported as 0
        }
        return new double[] {rss, pss};
    }

    static String load() {
        try {
            return String.join(" ", Arrays.asList(Files.readAllLines(Path.of("/proc/loadavg")).get(0).split(" ")).subList(0, 3));
        } catch (IOException e) {
            return "?";
        }
    }

    /** QEMU's human monitor on a Unix socket: a command, then everything up to the next "(qemu) " prompt. */
    static final class Monitor implements AutoCloseable {
        private final SocketChannel ch;
        private final ByteBuffer buf = ByteBuffer.allocate(1 << 16);

        private Monitor(SocketChannel ch) throws IOException {
            this.ch = ch;
            readPrompt(); // the banner
        }

        static Monitor tryConnect(Path path) throws IOException {
            if (!Files.exists(path)) return null;
            SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX);
            try {
                ch.connect(UnixDomainSocketAddress.of(path));
                return new Monitor(ch);
            } catch (IOException e) {
                ch.close();
                return null;
            }
        }

        static Monitor connect(Path path, long timeoutMs) throws Exception {
            long deadline = System.currentTimeMillis() + timeoutMs;
            while (true) {
                Monitor m = tryConnect(path);
                if (m != null) return m;
                if (System.currentTimeMillis() > deadline) throw new IOException("no QEMU monitor at " + path);
                Thread.sleep(10);
            }
        }

        String command(String line) throws IOException {
            send(line);
            return readPrompt();
        }

        void send(String line) throws IOException {
            ByteBuffer b = ByteBuffer.wrap((line + "\n").getBytes(StandardCharsets.US_ASCII));
            while (b.hasRemaining()) ch.write(b);
        }

        private String readPrompt() throws IOException {
            StringBuilder text = new StringBuilder();
            while (true) {
                buf.clear();
                if (ch.read(buf) < 0) return text.toString();
                text.append(new String(buf.array(), 0, buf.position(), StandardCharsets.UTF_8));
                if (text.toString().endsWith("(qemu) ")) return text.toString();
            }
        }

        @Override
        public void close() throws IOException {
            ch.close();
        }
    }
}
