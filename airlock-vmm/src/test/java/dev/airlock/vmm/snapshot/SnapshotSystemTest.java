package dev.airlock.vmm.snapshot;

import static org.junit.jupiter.api.Assertions.*;

import dev.airlock.guest.assets.GuestAssets;
import dev.airlock.guest.initramfs.InitramfsBuilder;
import dev.airlock.vmm.Vm;
import dev.airlock.vmm.VmConfig;
import dev.airlock.vmm.VmResult;
import dev.airlock.vmm.sched.HartPool;
import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;
import org.junit.jupiter.api.io.TempDir;

/**
 * A real Debian guest counts on the console; the VM is stopped and saved mid-count, and two VMs
 * restored from that snapshot carry on counting from where it was, each on its own.
 */
@EnabledIfSystemProperty(named = "airlock.systemTests", matches = "true")
class SnapshotSystemTest {
    static final String CMDLINE = VmConfig.BASE_CMDLINE + " quiet";
    static final Pattern TICK = Pattern.compile("tick (\\d+)");

    /** Console bytes, with a way to wait for a pattern. */
    static final class Console extends OutputStream {
        final ByteArrayOutputStream bytes = new ByteArrayOutputStream();

        @Override public synchronized void write(int b) { bytes.write(b); notifyAll(); }

        synchronized String text() { return bytes.toString(StandardCharsets.UTF_8); }

        synchronized int lastTick() {
            Matcher m = TICK.matcher(text());
            int last = -1;
            while (m.find()) last = Integer.parseInt(m.group(1));
            return last;
        }

        synchronized void awaitTick(int n, Duration timeout) throws InterruptedException {
            long deadline = System.nanoTime() + timeout.toNanos();
            while (lastTick() < n) {
                long left = deadline - System.nanoTime();
                if (left <= 0) fail("no 'tick " + n + "' within " + timeout.toSeconds() + " s; console:\n" + text());
                wait(Math.max(1, left / 1_000_000));
            }
        }
    }

    @Test
    void restoredVmsCarryOnCountingFromTheSnapshot(@TempDir Path dir) throws Exception {
        GuestAssets assets = GuestAssets.open();
        byte[] command = InitramfsBuilder.commandArchive(List.of("sh", "-c",
                "i=0; while [ $i -lt 1000 ]; do echo tick $i; i=$((i+1)); usleep 200000; done"), Map.of());
        byte[] initrd = InitramfsBuilder.append(assets.baseInitramfs(), command);
        try (HartPool pool = new HartPool(2)) {
            Console first = new Console();
            Vm vm = Vm.create(new VmConfig(1, 128L << 20, assets.kernelImage(), initrd, CMDLINE, first), pool);
            int savedAt;
            try {
                vm.start();
                first.awaitTick(5, Duration.ofSeconds(120));
                vm.stop(VmResult.Outcome.STOPPED, "saving it");
                vm.await(Duration.ofSeconds(30));
                savedAt = first.lastTick();
                long t0 = System.nanoTime();
                vm.snapshot(dir);
                System.out.printf("snapshot at tick %d in %.0f ms: state %d bytes, memory file %d MiB apparent, %d KiB on disk%n",
                        savedAt, (System.nanoTime() - t0) / 1e6, Files.size(dir.resolve(Snapshot.STATE_FILE)),
                        Files.size(dir.resolve(Snapshot.MEMORY_FILE)) >> 20, allocatedKiB(dir.resolve(Snapshot.MEMORY_FILE)));
            } finally {
                vm.close();
            }
            for (int clone = 0; clone < 2; clone++) {
                Console console = new Console();
                Vm copy = Vm.create(new VmConfig(1, 128L << 20, assets.kernelImage(), initrd, CMDLINE, console), pool);
                try {
                    long t0 = System.nanoTime();
                    copy.restore(dir);
                    copy.start();
                    console.awaitTick(savedAt + 3, Duration.ofSeconds(60));
                    System.out.printf("restored copy %d in %.0f ms; its console:%n%s%n", clone, (System.nanoTime() - t0) / 1e6,
                            console.text());
                    Matcher m = TICK.matcher(console.text());
                    assertTrue(m.find(), console.text());
                    int firstTick = Integer.parseInt(m.group(1));
                    assertTrue(firstTick == savedAt || firstTick == savedAt + 1,
                            "the copy must carry on from tick " + savedAt + ", not start over; it printed first " + firstTick);
                    assertFalse(console.text().contains("Linux version"), "the copy must not boot again:\n" + console.text());
                } finally {
                    copy.close();
                }
            }
        }
    }

    static long allocatedKiB(Path file) throws Exception {
        Process du = new ProcessBuilder("du", "-k", file.toString()).start();
        return Long.parseLong(new String(du.getInputStream().readAllBytes()).split("\\s+")[0]);
    }
}
