package dev.airlock.cli;

import static dev.airlock.cli.BootSystemTest.airlock;
import static org.junit.jupiter.api.Assertions.*;

import dev.airlock.guest.agent.AgentClient;
import dev.airlock.vmm.sched.HartPool;
import dev.airlock.vmm.virtio.DeviceEventLoop;
import java.io.OutputStream;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;

/**
 * A template made the way users make one ({@code airlock template create} with a counter started
 * by --prepare), then cloned: clones carry on its work, diverge from each other, reseed their RNG,
 * map its memory copy-on-write, run a hundred at once, keep it from being deleted while they run,
 * and a damaged template is refused naming the file and offset. Its disks: a read-only ext4 file
 * shared by every clone, and a writable store image it froze, of which each clone writes a throwaway
 * clone. One template serves every check.
 */
@EnabledIfSystemProperty(named = "airlock.systemTests", matches = "true")
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class TemplateSystemTest {
    static final String TEMPLATE = "counter";
    static Path templates;
    static Path runtime;
    static Path disk;
    static Path store;

    @BeforeAll
    static void createTemplate() throws Exception {
        templates = Files.createTempDirectory("airlock-templates");
        runtime = Files.createTempDirectory("airlock-runtime");
        System.setProperty("airlock.templatesDir", templates.toString());
        System.setProperty("airlock.runtimeDir", runtime.toString());
        store = Files.createTempDirectory("airlock-store");
        System.setProperty("airlock.store", store.toString());
        Path root = Files.createDirectories(templates.resolve("disk-root"));
        Files.writeString(root.resolve("hello.txt"), "from a read-only disk\n");
        disk = runtime.resolve("shared.img");
        String mke2fs = Files.isExecutable(Path.of("/usr/sbin/mke2fs")) ? "/usr/sbin/mke2fs" : "/sbin/mke2fs";
        Process mk = new ProcessBuilder(mke2fs, "-q", "-F", "-t", "ext4", "-d", root.toString(), disk.toString(), "16M")
                .redirectErrorStream(true).start();
        String mkOut = new String(mk.getInputStream().readAllBytes());
        assertEquals(0, mk.waitFor(), mkOut);
        Path scratch = runtime.resolve("scratch.img");
        Process mk2 = new ProcessBuilder(mke2fs, "-q", "-F", "-t", "ext4", scratch.toString(), "16M").redirectErrorStream(true).start();
        String mk2Out = new String(mk2.getInputStream().readAllBytes());
        assertEquals(0, mk2.waitFor(), mk2Out);
        var imported = airlock("image", "import", "scratch", scratch.toString());
        assertEquals(0, imported.exit(), imported::toString);
        var r = airlock("template", "create", TEMPLATE, "--memory", "256", "--share-content", "--disk", disk + ",ro",
                "--disk", "store:scratch",
                "--prepare", "mkdir -p /mnt/d && mount -o ro /dev/vda /mnt/d",
                "--prepare", "mkdir -p /mnt/w && mount /dev/vdb /mnt/w && echo made-by-template > /mnt/w/state && sync",
                "--prepare", "(i=0; while :; do i=$((i+1)); echo $i > /tmp/counter; sleep 1; done) >/dev/null 2>&1 &",
                "--prepare", "sleep 2; echo prepared > /tmp/prepared");
        System.out.println("template create: " + r);
        assertEquals(0, r.exit(), r::toString);
        assertTrue(r.err().contains("template counter saved"), r::toString);
    }

    @AfterAll
    static void cleanUp() throws Exception {
        System.clearProperty("airlock.templatesDir");
        System.clearProperty("airlock.runtimeDir");
        System.clearProperty("airlock.store");
        for (Path root : new Path[] {templates, runtime, store}) {
            if (root == null) continue;
            try (Stream<Path> all = Files.walk(root)) {
                for (Path p : all.sorted(java.util.Comparator.reverseOrder()).toList()) Files.deleteIfExists(p);
            }
        }
    }

    @Test @Order(1)
    void aCloneCarriesOnTheTemplatesWork() throws Exception {
        var r = airlock("clone", TEMPLATE, "--", "sh", "-c",
                "cat /tmp/prepared; a=$(cat /tmp/counter); sleep 3; b=$(cat /tmp/counter); echo $a $b; cat /mnt/d/hello.txt;"
                        + " cat /mnt/w/state; echo from-clone > /mnt/w/state && sync && cat /mnt/w/state");
        assertEquals(0, r.exit(), r::toString);
        String[] lines = r.out().split("\n");
        assertEquals("prepared", lines[0], r::toString);
        String[] ab = lines[1].split(" ");
        int a = Integer.parseInt(ab[0]), b = Integer.parseInt(ab[1]);
        assertTrue(a >= 2, "the counter the template started must have been running before the save: " + r);
        assertTrue(b > a, "the counter must keep counting in the clone: " + r);
        assertEquals("from a read-only disk", lines[2], "the template's mounted disk is there in the clone: " + r);
        assertEquals("made-by-template", lines[3], "the writable disk as the template left it: " + r);
        assertEquals("from-clone", lines[4], "a clone writes its own copy of the template's writable disk: " + r);
        assertEquals(List.of("scratch"), storeImages(), "the clone's disk went with it");
    }

    /** The store's images by name. */
    static List<String> storeImages() {
        try (var s = dev.airlock.store.ImageStore.open(store)) {
            return s.list().stream().map(dev.airlock.store.ImageInfo::name).sorted().toList();
        }
    }

    @Test @Order(2)
    void clonesDivergeReseedAndShareTheTemplatesFrames() throws Exception {
        var template = Templates.fromEnvironment().open(TEMPLATE);
        try (HartPool pool = new HartPool(2);
             DeviceEventLoop devices = DeviceEventLoop.start(1, "test-virtio");
             MicroVm a = MicroVm.clone(template, "diverge-a", RuntimeDir.fromEnvironment(), pool, devices, OutputStream.nullOutputStream());
             MicroVm b = MicroVm.clone(template, "diverge-b", RuntimeDir.fromEnvironment(), pool, devices, OutputStream.nullOutputStream())) {
            assertNotEquals(a.cid(), b.cid(), "each clone has its own vsock CID");
            a.start();
            b.start();
            try (AgentClient ga = a.connectAgent(Duration.ofSeconds(60)); AgentClient gb = b.connectAgent(Duration.ofSeconds(60))) {
                assertEquals(0, ga.run("sh", "-c", "echo from-a > /tmp/mine; head -c 40000000 /dev/zero > /tmp/fill").exitCode());
                assertEquals(0, gb.run("sh", "-c", "echo from-b > /tmp/mine").exitCode());
                assertEquals("from-a\n", ga.run("cat", "/tmp/mine").stdoutText());
                assertEquals("from-b\n", gb.run("cat", "/tmp/mine").stdoutText());
                assertEquals(1, gb.run("test", "-e", "/tmp/fill").exitCode(), "b must not see a's file");
                String ra = ga.run("sh", "-c", "head -c 16 /dev/urandom | od -An -tx1").stdoutText();
                String rb = gb.run("sh", "-c", "head -c 16 /dev/urandom | od -An -tx1").stdoutText();
                assertNotEquals(ra, rb, "clones must not share the template's RNG state");
                assertEquals("1\n", ga.run("sh", "-c", "dmesg | grep -c 'crng reseeded due to virtual machine fork'").stdoutText(),
                        "the guest reseeds once, from its new VM generation ID");
            }
            VmStatus sa = a.status(), sb = b.status();
            System.out.println("clone a: " + sa.toJson() + "\nclone b: " + sb.toJson());
            assertEquals(TEMPLATE, sa.template());
            // (Shared too, if the host runs KSM: the template offers its clones' pages for merging.)
            assertTrue(sa.privateBytes() + sa.sharedBytes() >= 40L << 20, "a wrote 40 MB, so at least that is its own: " + sa);
            assertTrue(sb.privateBytes() + sb.sharedBytes() < sa.privateBytes() + sa.sharedBytes() - (30L << 20), "b wrote little: " + sb);
            assertTrue(sb.templateBytes() > 1L << 20, "b still maps template frames it only read: " + sb);
            // Mapping 40 MB takes at least 20 leaf page tables; a clone's own Java arrays are its harts'
            // and code cache's, not a copy of the template's decoded code.
            assertTrue(sa.tableBytes() >= 20 * 4096L, "a's page tables: " + sa);
            assertTrue(sb.javaBytes() > 0 && sb.javaBytes() < 4L << 20, "b's Java arrays: " + sb);

            // Freed memory in a clone goes back to the zero page: the guest reports it, the host drops a's copies.
            try (AgentClient ga = a.connectAgent(Duration.ofSeconds(30))) {
                assertEquals(0, ga.run("rm", "/tmp/fill").exitCode());
            }
            long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
            VmStatus freed = a.status();
            // Linux reports only whole free 2 MiB blocks, so part of the 40 MB may stay in fragments.
            while (freed.privateBytes() + freed.sharedBytes() > sa.privateBytes() + sa.sharedBytes() - (15L << 20)
                    && System.nanoTime() < deadline) {
                Thread.sleep(250);
                freed = a.status();
            }
            System.out.println("clone a after rm: " + freed.toJson());
            assertTrue(freed.privateBytes() + freed.sharedBytes() <= sa.privateBytes() + sa.sharedBytes() - (15L << 20),
                    "reported pages must stop being a's own: " + freed);

            // Reset: a is the template again, under the same name and CID, its private frames gone.
            a.resetToTemplate();
            try (AgentClient ga = a.connectAgent(Duration.ofSeconds(60))) {
                assertEquals(1, ga.run("test", "-e", "/tmp/mine").exitCode(), "a reset clone has none of its own files");
                assertEquals("prepared\n", ga.run("cat", "/tmp/prepared").stdoutText());
            }
            VmStatus reset = a.status();
            System.out.println("clone a after reset: " + reset.toJson());
            assertEquals(sa.cid(), reset.cid());
            assertTrue(reset.privateBytes() < 8L << 20, "a reset clone holds little of its own: " + reset);
        }
    }

    @Test @Order(3)
    void aHundredClonesRunAtOnce() throws Exception {
        var r = airlock("clone", TEMPLATE, "-n", "100", "--timings", "--", "sh", "-c", "cat /tmp/prepared /mnt/w/state | tr '\\n' ' '");
        System.out.println(r.err());
        assertEquals(0, r.exit(), r::toString);
        Set<String> answered = new HashSet<>();
        for (String line : r.out().split("\n")) {
            // Each sees the template's disk, not what earlier clones wrote to theirs.
            if (line.endsWith("] prepared made-by-template ")) answered.add(line.substring(0, line.indexOf(']') + 1));
        }
        assertEquals(100, answered.size(), r::toString);
        assertEquals(List.of("scratch"), storeImages(), "every clone's disk was deleted with it");
    }

    @Test @Order(4)
    void aTemplateInUseCannotBeDeleted() throws Exception {
        var template = Templates.fromEnvironment().open(TEMPLATE);
        try (HartPool pool = new HartPool(1);
             DeviceEventLoop devices = DeviceEventLoop.start(1, "test-virtio")) {
            MicroVm clone = MicroVm.clone(template, "holder", RuntimeDir.fromEnvironment(), pool, devices, OutputStream.nullOutputStream());
            try {
                clone.start();
                var refused = airlock("template", "rm", TEMPLATE);
                assertNotEquals(0, refused.exit(), refused::toString);
                assertTrue(refused.err().contains("in use"), refused::toString);
                assertTrue(Files.exists(templates.resolve(TEMPLATE).resolve("vm.mem")), "nothing may be lost");
            } finally {
                clone.close();
            }
        }
        var ls = airlock("template", "ls");
        assertTrue(ls.out().contains(TEMPLATE), ls::toString);
    }

    @Test @Order(5)
    void aPoolMakesClonesAheadWhoseGuestClockStartsWhenTaken() throws Exception {
        var template = Templates.fromEnvironment().open(TEMPLATE);
        RuntimeDir runtime = RuntimeDir.fromEnvironment();
        try (HartPool pool = new HartPool(2);
             DeviceEventLoop devices = DeviceEventLoop.start(1, "test-virtio")) {
            double coldUptime;
            try (MicroVm cold = MicroVm.clone(template, "cold", runtime, pool, devices, OutputStream.nullOutputStream())) {
                cold.start();
                coldUptime = uptime(cold);
            }
            try (ClonePool clonePool = ClonePool.start(template, 1, runtime, pool, devices)) {
                awaitReady(clonePool);
                assertEquals(1, template.users(), "the clone made ahead holds the template");
                Thread.sleep(4000); // waiting in the pool, which its guest must not see as time passing
                var console = new java.io.ByteArrayOutputStream();
                try (MicroVm taken = clonePool.take("pooled", console)) {
                    assertEquals("pooled", taken.name());
                    taken.start();
                    double pooledUptime = uptime(taken);
                    assertTrue(pooledUptime < coldUptime + 2, "the clone's 4 s in the pool became guest time: a clone made on the spot"
                            + " was up " + coldUptime + " s, the pooled one " + pooledUptime + " s");
                    assertTrue(Files.exists(runtime.vsockSocket("pooled")), "the agent's socket has the name the clone was given");
                    try (AgentClient agent = taken.connectAgent(Duration.ofSeconds(30))) {
                        assertEquals(0, agent.run("sh", "-c", "echo to-the-console > /dev/console").exitCode());
                    }
                    long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
                    while (!console.toString().contains("to-the-console") && System.nanoTime() < deadline) Thread.sleep(20);
                    assertTrue(console.toString().contains("to-the-console"), "the console goes to the taker's stream: " + console);
                }
                awaitReady(clonePool);
                var refused = airlock("template", "rm", TEMPLATE);
                assertNotEquals(0, refused.exit(), "a pooled clone holds the template: " + refused);
                var clash = assertThrows(java.io.IOException.class, () -> {
                    try (MicroVm a = clonePool.take("clash", OutputStream.nullOutputStream())) {
                        a.start();
                        a.awaitVsockSocket();
                        clonePool.take("clash", OutputStream.nullOutputStream()).close();
                    }
                });
                assertTrue(clash.getMessage().contains("already running"), clash.getMessage());
            }
            assertEquals(0, template.users(), "closing the pool lets go of the template");
        }
    }

    private static void awaitReady(ClonePool clonePool) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (clonePool.ready() < 1) {
            assertTrue(System.nanoTime() < deadline, "the pool made no clone in 60 s");
            Thread.sleep(10);
        }
    }

    /** The guest's uptime in seconds, read as soon as its agent answers. */
    private static double uptime(MicroVm m) throws Exception {
        try (AgentClient agent = m.connectAgent(Duration.ofSeconds(60))) {
            return Double.parseDouble(agent.run("cat", "/proc/uptime").stdoutText().split(" ")[0]);
        }
    }

    @Test @Order(6)
    void aDamagedTemplateIsRefusedNamingTheFileAndOffset() throws Exception {
        Path source = templates.resolve(TEMPLATE);
        for (String damage : new String[] {"memory", "state"}) {
            String name = "broken-" + damage;
            Path copy = templates.resolve(name);
            Files.createDirectories(copy);
            for (String f : new String[] {"vm.mem", "vm.state", "template.properties", "in-use.lock"}) {
                Files.copy(source.resolve(f), copy.resolve(f));
                Files.setPosixFilePermissions(copy.resolve(f), PosixFilePermissions.fromString("rw-r--r--"));
            }
            Path file = copy.resolve(damage.equals("memory") ? "vm.mem" : "vm.state");
            try (RandomAccessFile raf = new RandomAccessFile(file.toFile(), "rw")) {
                if (damage.equals("memory")) {
                    long at = 5L << 20; // inside the kernel's image: data, not a hole
                    raf.seek(at);
                    int old = raf.read();
                    raf.seek(at);
                    raf.write(old ^ 0x5a);
                } else {
                    raf.setLength(raf.length() - 100);
                }
            }
            var r = airlock("clone", name, "--", "true");
            assertNotEquals(0, r.exit(), r::toString);
            assertTrue(r.err().contains(file.toString()), "the message names the damaged file: " + r);
            assertTrue(r.err().contains("offset"), "the message gives the offset: " + r);
            assertFalse(r.err().contains("\tat "), "no stack trace for a damaged file: " + r);
        }
    }

    @Test @Order(7)
    void clonesOfASharingTemplateMergeIdenticalPages() throws Exception {
        Path ksm = Path.of("/sys/kernel/mm/ksm");
        org.junit.jupiter.api.Assumptions.assumeTrue(Files.isWritable(ksm.resolve("run")), "needs root and a kernel with KSM");
        String[] knobs = {"run", "pages_to_scan", "sleep_millisecs"};
        String[] saved = new String[knobs.length];
        for (int i = 0; i < knobs.length; i++) saved[i] = Files.readString(ksm.resolve(knobs[i])).strip();
        var template = Templates.fromEnvironment().open(TEMPLATE);
        assertTrue(template.sharesContent());
        try (HartPool pool = new HartPool(2);
             DeviceEventLoop devices = DeviceEventLoop.start(1, "test-virtio");
             MicroVm a = MicroVm.clone(template, "ksm-a", RuntimeDir.fromEnvironment(), pool, devices, OutputStream.nullOutputStream());
             MicroVm b = MicroVm.clone(template, "ksm-b", RuntimeDir.fromEnvironment(), pool, devices, OutputStream.nullOutputStream())) {
            Files.writeString(ksm.resolve("pages_to_scan"), "20000");
            Files.writeString(ksm.resolve("sleep_millisecs"), "10");
            Files.writeString(ksm.resolve("run"), "1");
            a.start();
            b.start();
            for (MicroVm m : new MicroVm[] {a, b}) {
                try (AgentClient g = m.connectAgent(Duration.ofSeconds(60))) {
                    assertEquals(0, g.run("sh", "-c", "yes airlock | head -c 20000000 > /tmp/same").exitCode());
                }
            }
            long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
            VmStatus sa = a.status(), sb = b.status();
            while ((sa.sharedBytes() < 15L << 20 || sb.sharedBytes() < 15L << 20) && System.nanoTime() < deadline) {
                Thread.sleep(500);
                sa = a.status();
                sb = b.status();
            }
            System.out.println("merged: a " + sa.toJson() + "\nb " + sb.toJson());
            assertTrue(sa.sharedBytes() >= 15L << 20 && sb.sharedBytes() >= 15L << 20,
                    "20 MB of identical pages in each clone must be merged: " + sa + " " + sb);
            // A write breaks the share: the clone gets its own copy back and still reads what it wrote.
            try (AgentClient g = a.connectAgent(Duration.ofSeconds(30))) {
                assertEquals(0, g.run("sh", "-c", "echo changed | dd of=/tmp/same conv=notrunc 2>/dev/null").exitCode());
                assertEquals("changed\nairlock\n", g.run("head", "-n", "2", "/tmp/same").stdoutText());
            }
        } finally {
            Files.writeString(ksm.resolve("run"), saved[0]);
            Files.writeString(ksm.resolve("pages_to_scan"), saved[1]);
            Files.writeString(ksm.resolve("sleep_millisecs"), saved[2]);
        }
    }

    @Test @Order(8)
    void aTemplateWhoseDiskChangedIsRefused() throws Exception {
        Files.setLastModifiedTime(disk, java.nio.file.attribute.FileTime.fromMillis(System.currentTimeMillis() + 60_000));
        var r = airlock("clone", TEMPLATE, "--", "true");
        assertNotEquals(0, r.exit(), r::toString);
        assertTrue(r.err().contains("changed since template"), r::toString);
    }

    @Test @Order(9)
    void aTemplateNobodyUsesIsDeleted() throws Exception {
        var r = airlock("template", "rm", TEMPLATE);
        assertEquals(0, r.exit(), r::toString);
        assertFalse(Files.exists(templates.resolve(TEMPLATE)));
        try (var s = dev.airlock.store.ImageStore.open(store)) {
            assertNull(s.image("scratch").findSnapshot("template-" + TEMPLATE), "the disk snapshot went with the template");
        }
        var again = airlock("clone", TEMPLATE, "--", "true");
        assertEquals(ExitCodes.USAGE, again.exit(), again::toString);
        assertTrue(again.err().contains("no template"), again::toString);
    }
}
