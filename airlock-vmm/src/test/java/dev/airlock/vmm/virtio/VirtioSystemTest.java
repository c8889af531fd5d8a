package dev.airlock.vmm.virtio;

import static org.junit.jupiter.api.Assertions.*;

import dev.airlock.guest.assets.GuestAssets;
import dev.airlock.guest.initramfs.InitramfsBuilder;
import dev.airlock.vmm.Vm;
import dev.airlock.vmm.VmConfig;
import dev.airlock.vmm.VmResult;
import dev.airlock.vmm.sched.HartPool;
import dev.airlock.vmm.virtio.blk.RawImageBackend;
import dev.airlock.vmm.virtio.blk.VirtioBlock;
import dev.airlock.vmm.virtio.rng.VirtioRng;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;
import org.junit.jupiter.api.io.TempDir;

/**
 * Boots Debian's riscv64 kernel with virtio-blk in slot 0 and virtio-rng in slot 1: the guest mounts
 * an ext4 image the host made, reads a host file, writes one the host then reads back with debugfs,
 * and reads /dev/hwrng; a read-only disk mounts read-only and refuses a raw write.
 * Runs only with -Dairlock.systemTests=true; the guest console is in every failure message.
 */
@EnabledIfSystemProperty(named = "airlock.systemTests", matches = "true")
class VirtioSystemTest {
    static final String CMDLINE = VmConfig.BASE_CMDLINE + (Boolean.getBoolean("airlock.virtio.verbose") ? "" : " quiet");
    static final List<String> MODULES = List.of("virtio_mmio", "virtio_blk", "virtio-rng",
            // ext4 finds its metadata checksum through the crypto API at mount time; nothing would modprobe it.
            "crc32c_generic", "ext4");
    static final String HOST_TEXT = "hello from the host";
    static final String GUEST_TEXT = "written by the guest";

    static GuestAssets assets;
    static byte[] initramfs;
    static HartPool pool;
    static DeviceEventLoop loop;

    @BeforeAll
    static void setUp() {
        assets = GuestAssets.open();
        initramfs = assets.initramfs(MODULES);
        pool = new HartPool(2);
        loop = DeviceEventLoop.start(1, "airlock-virtio");
    }

    @AfterAll
    static void tearDown() {
        if (pool != null) pool.close();
        if (loop != null) loop.close();
    }

    record Run(VmResult result, String console) {
        String describe() {
            return "outcome " + result.outcome() + " (" + result.reason() + "), guest console:\n" + console
                    + "\n--- console tail ---\n" + String.join("\n", result.consoleTail());
        }

        int exitStatus() {
            for (String line : console.split("\n")) {
                var status = InitramfsBuilder.parseExitMarker(line);
                if (status.isPresent()) return status.getAsInt();
            }
            return -1;
        }
    }

    static Path ext4Image(Path dir, String name) throws Exception {
        Path root = Files.createDirectories(dir.resolve(name + "-root"));
        Files.writeString(root.resolve("hello.txt"), HOST_TEXT + "\n");
        Path image = dir.resolve(name + ".img");
        run(List.of("mke2fs", "-q", "-F", "-t", "ext4", "-d", root.toString(), image.toString(), "16M"));
        return image;
    }

    static String run(List<String> argv) throws Exception {
        List<String> cmd = new ArrayList<>(argv);
        // e2fsprogs live in /sbin, which a test's PATH may lack.
        String exe = cmd.get(0);
        for (String dir : List.of("/usr/sbin", "/sbin")) {
            if (Files.isExecutable(Path.of(dir, exe))) {
                cmd.set(0, dir + "/" + exe);
                break;
            }
        }
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), argv + " hung");
        assertEquals(0, p.exitValue(), argv + " failed:\n" + out);
        return out;
    }

    static Run boot(String script, Path image, boolean readOnly) throws Exception {
        byte[] command = InitramfsBuilder.commandArchive(List.of("sh", "-c", script), Map.of());
        byte[] initrd = InitramfsBuilder.append(initramfs, command);
        ByteArrayOutputStream console = new ByteArrayOutputStream();
        VmConfig config = new VmConfig(1, 256L << 20, assets.kernelImage(), initrd, CMDLINE, console);
        Vm vm = Vm.create(config, pool);
        VirtioMmioTransport blk = null, rng = null;
        try {
            blk = new VirtioMmioTransport(new VirtioBlock(RawImageBackend.open(image, readOnly), "airlock-test"),
                    vm.memory(), vm.virtioIrq(0), loop);
            rng = new VirtioMmioTransport(new VirtioRng(), vm.memory(), vm.virtioIrq(1), loop);
            vm.attachVirtio(0, blk);
            vm.attachVirtio(1, rng);
            vm.start();
            VmResult result = vm.await(Duration.ofSeconds(120));
            VirtioBlock disk = (VirtioBlock) blk.device();
            String stats = String.format("host: virtio-blk served %d requests (%d failed), virtio-rng served %d bytes,"
                            + " %d+%d notifications, guest ran %.1f s for %d M instructions",
                    disk.requests(), disk.failedRequests(), ((VirtioRng) rng.device()).bytesServed(),
                    blk.notifications(), rng.notifications(), result.wallNanos() / 1e9, result.instructions() / 1_000_000);
            return new Run(result, console.toString(StandardCharsets.UTF_8) + stats + "\n");
        } finally {
            // Devices stop touching guest RAM before the VM unmaps it.
            if (blk != null) blk.close();
            if (rng != null) rng.close();
            vm.close();
        }
    }


    @Test
    void theGuestUsesAWritableExt4DiskAndTheHardwareRng(@TempDir Path dir) throws Exception {
        Path image = ext4Image(dir, "rw");
        String script = String.join("\n",
                "set -e",
                "cat /proc/uptime",
                "mkdir -p /mnt",
                "mount -t ext4 /dev/vda /mnt",
                "echo \"read: $(cat /mnt/hello.txt)\"",
                "echo '" + GUEST_TEXT + "' > /mnt/guest.txt",
                "sync",
                "umount /mnt",
                "echo \"serial: $(cat /sys/block/vda/serial)\"",
                "echo \"hwrng: $(cat /sys/class/misc/hw_random/rng_current)\"",
                "head -c 16 /dev/hwrng | od -x | head -1",
                "cat /proc/uptime",
                "echo guest-done");
        Run r = boot(script, image, false);
        System.out.println("---- rw system test guest console ----\n" + r.console());
        assertEquals(VmResult.Outcome.POWEROFF, r.result().outcome(), r::describe);
        assertEquals(0, r.exitStatus(), r::describe);
        assertTrue(r.console().contains("read: " + HOST_TEXT), r::describe);
        assertTrue(r.console().contains("serial: airlock-test"), r::describe);
        assertTrue(r.console().contains("hwrng: virtio_rng"), r::describe);
        assertTrue(r.console().matches("(?s).*0000000 [0-9a-f]{4} [0-9a-f]{4} [0-9a-f]{4} [0-9a-f]{4}.*"), r::describe);
        assertTrue(r.console().contains("guest-done"), r::describe);
        String fromHost = run(List.of("debugfs", "-R", "cat /guest.txt", image.toString()));
        assertTrue(fromHost.contains(GUEST_TEXT), "debugfs read:\n" + fromHost + "\n" + r.describe());
        run(List.of("e2fsck", "-fn", image.toString()));
    }

    @Test
    void aReadOnlyDiskMountsReadOnlyAndRefusesRawWrites(@TempDir Path dir) throws Exception {
        Path image = ext4Image(dir, "ro");
        byte[] before = sha256(image);
        String script = String.join("\n",
                "mkdir -p /mnt",
                "mount -t ext4 -o ro /dev/vda /mnt && echo \"ro-read: $(cat /mnt/hello.txt)\"",
                "umount /mnt",
                "echo \"ro-flag: $(cat /sys/block/vda/ro)\"",
                "if dd if=/dev/zero of=/dev/vda bs=512 count=1 conv=fsync 2>/dev/null; then echo raw-write-succeeded;"
                        + " else echo raw-write-refused; fi",
                "echo guest-done");
        Run r = boot(script, image, true);
        System.out.println("---- ro system test guest console ----\n" + r.console());
        assertEquals(VmResult.Outcome.POWEROFF, r.result().outcome(), r::describe);
        assertTrue(r.console().contains("ro-read: " + HOST_TEXT), r::describe);
        assertTrue(r.console().contains("ro-flag: 1"), r::describe);
        assertTrue(r.console().contains("raw-write-refused"), r::describe);
        assertTrue(r.console().contains("guest-done"), r::describe);
        assertArrayEquals(before, sha256(image), "the read-only image changed\n" + r.describe());
    }

    static byte[] sha256(Path file) throws IOException {
        try {
            return MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(file));
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new AssertionError(e);
        }
    }
}
