package dev.airlock.vmm.devices.vmgenid;

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
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;

/**
 * Debian's kernel binds its vmgenid driver to our device-tree node, and each {@link Vm#newGeneration()}
 * reaches it: what the test watches is the "vmgenid" line of /proc/interrupts, which must go up by
 * exactly one per generation (one notification, not a storm of a line left high), and the kernel's
 * "crng reseeded due to virtual machine fork" in dmesg, which the driver's handler causes when the
 * ID it reads differs from the one it had.
 */
@EnabledIfSystemProperty(named = "airlock.systemTests", matches = "true")
class VmGenerationIdSystemTest {
    static final String CMDLINE = VmConfig.BASE_CMDLINE + " quiet";
    static final Pattern SEEN = Pattern.compile("VMGENID-SEEN (\\d+)");
    static final String RESEEDED = "crng reseeded due to virtual machine fork";

    /** The guest reports the driver's binding, then the interrupt count each time it changes. */
    static final String SCRIPT = """
            echo "VMGENID-BOUND $(ls /sys/bus/platform/drivers/vmgenid/ | grep rng)"
            count() { set -- $(grep vmgenid /proc/interrupts); echo "${2:-none}"; }
            seen=$(count)
            cat /proc/interrupts
            echo "VMGENID-READY $seen"
            n=0; t=0
            while [ $n -lt 2 ] && [ $t -lt 1200 ]; do
                now=$(count)
                if [ "$now" != "$seen" ]; then echo "VMGENID-SEEN $now"; seen=$now; n=$((n+1)); fi
                usleep 50000; t=$((t+1))
            done
            usleep 1000000
            echo "VMGENID-LATER $(count)"
            dmesg | grep -i -e vmgenid -e 'machine fork' | sed 's/^/VMGENID-DMESG /'
            """;

    /** Console bytes, with a way to wait for a pattern. */
    static final class Console extends OutputStream {
        final ByteArrayOutputStream bytes = new ByteArrayOutputStream();

        @Override public synchronized void write(int b) { bytes.write(b); notifyAll(); }

        synchronized String text() { return bytes.toString(StandardCharsets.UTF_8); }

        synchronized List<String> all(Pattern p) {
            List<String> found = new ArrayList<>();
            Matcher m = p.matcher(text());
            while (m.find()) found.add(m.group(1));
            return found;
        }

        synchronized void awaitCount(Pattern p, int n, Duration timeout) throws InterruptedException {
            long deadline = System.nanoTime() + timeout.toNanos();
            while (all(p).size() < n) {
                long left = deadline - System.nanoTime();
                if (left <= 0) fail("no " + n + " x '" + p + "' within " + timeout.toSeconds() + " s; console:\n" + text());
                wait(Math.max(1, left / 1_000_000));
            }
        }
    }

    @Test
    void theGuestDriverBindsAndHearsEachNewGeneration() throws Exception {
        GuestAssets assets = GuestAssets.open();
        byte[] command = InitramfsBuilder.commandArchive(List.of("sh", "-c", SCRIPT), Map.of());
        byte[] initrd = InitramfsBuilder.append(assets.baseInitramfs(), command);
        Console console = new Console();
        try (HartPool pool = new HartPool(2)) {
            Vm vm = Vm.create(new VmConfig(1, 128L << 20, assets.kernelImage(), initrd, CMDLINE, console), pool);
            VmResult result;
            try {
                vm.start();
                Pattern ready = Pattern.compile("VMGENID-READY (\\S+)");
                console.awaitCount(ready, 1, Duration.ofSeconds(180));
                assertEquals("0", console.all(ready).getFirst(),
                        "no notification before the first new generation:\n" + console.text());
                vm.newGeneration();
                console.awaitCount(SEEN, 1, Duration.ofSeconds(60));
                vm.newGeneration();
                console.awaitCount(SEEN, 2, Duration.ofSeconds(60));
                result = vm.await(Duration.ofSeconds(60));
            } finally {
                vm.close();
            }
            String text = console.text();
            System.out.println("guest console:\n" + text);
            assertEquals(VmResult.Outcome.POWEROFF, result.outcome(), result.reason() + "\n" + text);
            assertTrue(text.contains("VMGENID-BOUND 101000.rng"), "the vmgenid driver did not bind:\n" + text);
            assertEquals(List.of("1", "2"), console.all(SEEN), "one interrupt per generation:\n" + text);
            assertEquals(List.of("2"), console.all(Pattern.compile("VMGENID-LATER (\\S+)")),
                    "the line must go quiet once the guest has read the ID:\n" + text);
            long reseeds = text.lines().filter(l -> l.startsWith("VMGENID-DMESG") && l.contains(RESEEDED)).count();
            assertEquals(2, reseeds, "the guest kernel must reseed once per generation:\n" + text);
        }
    }
}
