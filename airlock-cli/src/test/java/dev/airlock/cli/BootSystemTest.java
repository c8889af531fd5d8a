package dev.airlock.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;

/**
 * Boots Debian's riscv64 kernel with a busybox initramfs through the real {@code airlock run} path.
 * Runs when -Dairlock.systemTests=true (scripts/test.sh sets it); the console tail is in every failure.
 */
@EnabledIfSystemProperty(named = "airlock.systemTests", matches = "true")
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class BootSystemTest {
    record Run(int exit, String out, String err) {
        @Override public String toString() { return "exit " + exit + "\nstdout:\n" + out + "\nstderr:\n" + err; }
    }

    static Run airlock(String... args) throws InterruptedException {
        ByteArrayOutputStream out = new ByteArrayOutputStream(), err = new ByteArrayOutputStream();
        int exit = Main.run(args, new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8));
        return new Run(exit, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    @Test @Order(1)
    void echoPrintsOnlyTheCommandOutput() throws Exception {
        Run r = airlock("run", "--", "echo", "hello from the guest");
        assertEquals(0, r.exit(), r::toString);
        assertEquals("hello from the guest\n", r.out(), r::toString);
    }

    @Test @Order(2)
    void exitCodePropagates() throws Exception {
        Run r = airlock("run", "--", "sh", "-c", "exit 7");
        assertEquals(7, r.exit(), r::toString);
    }

    @Test @Order(3)
    void unknownCommandGives127AndTheGuestMessage() throws Exception {
        Run r = airlock("run", "--", "no-such-command");
        assertEquals(127, r.exit(), r::toString);
        assertTrue(r.err().contains("no-such-command: not found"), r::toString);
    }

    @Test @Order(4)
    void nprocEqualsCpus() throws Exception {
        Run r = airlock("run", "--cpus", "2", "--", "nproc");
        assertEquals(0, r.exit(), r::toString);
        assertEquals("2\n", r.out(), r::toString);
    }

    @Test @Order(5)
    void kernelPanicIsReportedWithTheLastConsoleLines() throws Exception {
        Run r = airlock("run", "--", "sh", "-c", "echo c > /proc/sysrq-trigger");
        assertEquals(ExitCodes.VM_FAILED, r.exit(), r::toString);
        assertTrue(r.err().contains("the guest kernel panicked"), r::toString);
        assertTrue(r.err().contains("Kernel panic - not syncing"), r::toString);
    }

    @Test @Order(6)
    void timeoutStopsTheVmCleanly() throws Exception {
        int threadsBefore = Thread.activeCount();
        Run r = airlock("run", "--timeout", "3", "--", "sleep", "600");
        assertEquals(ExitCodes.TIMEOUT, r.exit(), r::toString);
        assertTrue(r.err().contains("time limit"), r::toString);
        Thread.sleep(200);
        assertTrue(Thread.activeCount() <= threadsBefore, "threads left behind: " + Thread.activeCount() + " > " + threadsBefore);
    }

    @Test @Order(7)
    void badInputGetsOneClearLine() throws Exception {
        Run missing = airlock("run", "--kernel", "/nonexistent/vmlinux", "--", "true");
        assertEquals(ExitCodes.USAGE, missing.exit(), missing::toString);
        assertTrue(missing.err().contains("does not exist; pass an existing file with --kernel"), missing::toString);
        Path corrupt = Files.createTempFile("airlock-corrupt", ".img");
        try {
            Files.write(corrupt, new byte[4096]);
            Run bad = airlock("run", "--kernel", corrupt.toString(), "--", "true");
            assertEquals(ExitCodes.USAGE, bad.exit(), bad::toString);
            assertTrue(bad.err().contains("neither a RISC-V Linux Image"), bad::toString);
        } finally {
            Files.delete(corrupt);
        }
        Run flag = airlock("run", "--bogus");
        assertEquals(ExitCodes.USAGE, flag.exit(), flag::toString);
        assertTrue(flag.err().contains("unknown option --bogus") && flag.err().contains("usage:"), flag::toString);
    }

    /** Twenty VMs one after another in this JVM: the thread count and RSS come back to where they were. */
    @Test @Order(8)
    void twentyVmsInARowLeakNoThreadsOrMemory() throws Exception {
        airlock("run", "--", "true"); // warm up: JIT, classes, asset cache
        System.gc();
        int threadsBefore = Thread.activeCount();
        long rssBefore = rssKiB();
        for (int i = 0; i < 20; i++) {
            Run r = airlock("run", "--", "sh", "-c", "echo vm " + i);
            assertEquals(0, r.exit(), r::toString);
            assertEquals("vm " + i + "\n", r.out(), r::toString);
        }
        System.gc();
        Thread.sleep(200);
        long rssAfter = rssKiB();
        assertTrue(Thread.activeCount() <= threadsBefore, "threads: " + threadsBefore + " -> " + Thread.activeCount());
        // Each VM touched tens of MiB of guest RAM; all of it must be unmapped again.
        assertTrue(rssAfter - rssBefore < 128 * 1024, "RSS grew from " + rssBefore + " KiB to " + rssAfter + " KiB");
    }

    static long rssKiB() throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
            if (line.startsWith("VmRSS:")) return Long.parseLong(line.replaceAll("[^0-9]", ""));
        }
        throw new IllegalStateException("no VmRSS in /proc/self/status");
    }

    /** --disk: the guest mounts ext4 from /dev/vda and writes; the host reads it back; /dev/vdb,ro refuses writes. */
    @Test @Order(9)
    void disksAreMountedWrittenAndReadOnlyOnesRefuseWrites() throws Exception {
        Path dir = Files.createTempDirectory("airlock-disk");
        try {
            Path content = Files.createDirectories(dir.resolve("content"));
            Files.writeString(content.resolve("hello.txt"), "from the host\n");
            Path rw = dir.resolve("rw.img"), ro = dir.resolve("ro.img");
            for (Path img : List.of(rw, ro)) exec("mke2fs", "-q", "-t", "ext4", "-d", content.toString(), img.toString(), "16M");
            byte[] roBefore = Files.readAllBytes(ro);
            Run r = airlock("run", "--disk", rw.toString(), "--disk", ro + ",ro", "--", "sh", "-c",
                    "mkdir -p /a /b && mount /dev/vda /a && cat /a/hello.txt && echo written-by-guest > /a/out.txt"
                            + " && umount /a && mount -o ro /dev/vdb /b && cat /b/hello.txt"
                            + " && cat /sys/block/vdb/ro && (dd if=/dev/zero of=/dev/vdb bs=4096 count=1 2>/dev/null"
                            + " && echo ro-write-accepted || echo ro-write-refused)");
            assertEquals(0, r.exit(), r::toString);
            assertEquals("from the host\nfrom the host\n1\nro-write-refused\n", r.out(), r::toString);
            assertEquals("written-by-guest", exec("debugfs", "-R", "cat /out.txt", rw.toString()).strip());
            assertTrue(java.util.Arrays.equals(roBefore, Files.readAllBytes(ro)), "the read-only image changed");
        } finally {
            try (var files = Files.walk(dir)) {
                files.sorted(java.util.Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
            }
        }
    }

    /** A store image cloned from a snapshot serves the guest's disk; the guest's write lands only in the clone. */
    @Test @Order(10)
    void storeCloneServesTheGuestDisk() throws Exception {
        Path dir = Files.createTempDirectory("airlock-store");
        try {
            Path content = Files.createDirectories(dir.resolve("content"));
            Files.writeString(content.resolve("hello.txt"), "from the base\n");
            Path raw = dir.resolve("base.img");
            exec("mke2fs", "-q", "-t", "ext4", "-d", content.toString(), raw.toString(), "16M");
            Path root = dir.resolve("store");
            ByteArrayOutputStream sink = new ByteArrayOutputStream();
            PrintStream quiet = new PrintStream(sink);
            assertEquals(0, dev.airlock.store.cli.ImageCommand.run(new String[] {"import", "base", raw.toString()}, quiet, quiet, root));
            assertEquals(0, dev.airlock.store.cli.ImageCommand.run(new String[] {"snapshot", "base", "v1"}, quiet, quiet, root));
            assertEquals(0, dev.airlock.store.cli.ImageCommand.run(new String[] {"clone", "base@v1", "work"}, quiet, quiet, root));
            var backend = StoreBlockBackend.open(root, "work", false);
            backend.close(); // the image opens; the run below opens it again through --disk
            Run r = withStore(root, () -> airlock("run", "--disk", "store:work", "--", "sh", "-c",
                    "mkdir -p /a && mount /dev/vda /a && cat /a/hello.txt && echo from-the-clone > /a/new.txt && umount /a"));
            assertEquals(0, r.exit(), r::toString);
            assertEquals("from the base\n", r.out(), r::toString);
            Path work = dir.resolve("work.raw"), base = dir.resolve("base.raw");
            assertEquals(0, dev.airlock.store.cli.ImageCommand.run(new String[] {"export", "work", work.toString()}, quiet, quiet, root));
            assertEquals(0, dev.airlock.store.cli.ImageCommand.run(new String[] {"export", "base", base.toString()}, quiet, quiet, root));
            assertEquals("from-the-clone", exec("debugfs", "-R", "cat /new.txt", work.toString()).strip());
            assertTrue(exec("debugfs", "-R", "ls /", base.toString()).indexOf("new.txt") < 0, "the base must not see the clone's write");
            assertEquals(0, dev.airlock.store.cli.ImageCommand.run(new String[] {"fsck", "work"}, quiet, quiet, root), sink::toString);
        } finally {
            try (var files = Files.walk(dir)) {
                files.sorted(java.util.Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
            }
        }
    }

    /** Runs with the store root the CLI resolves (AIRLOCK_STORE cannot be set in-process, so a property stands in). */
    static Run withStore(Path root, java.util.concurrent.Callable<Run> body) throws Exception {
        String old = System.getProperty("airlock.store");
        System.setProperty("airlock.store", root.toString());
        try {
            return body.call();
        } finally {
            if (old == null) System.clearProperty("airlock.store"); else System.setProperty("airlock.store", old);
        }
    }

    static String exec(String... cmd) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.DISCARD).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(0, p.waitFor(), String.join(" ", cmd) + " failed (e2fsprogs comes from scripts/setup-host.sh)");
        return out;
    }
}
