package dev.airlock.guest.initramfs;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CpioWriterTest {

    private static final byte[] SCRIPT = "#!/bin/sh\necho hi\n".getBytes(StandardCharsets.UTF_8);
    private static final byte[] ODD = {1, 2, 3, 4, 5}; // 5 bytes: forces data padding

    private static byte[] sample() {
        return CpioWriter.archive(cpio -> cpio
                .directory("/etc", 0755)
                .directory("proc", 0555)
                .file("/etc/hostname", 0644, "airlock\n".getBytes(StandardCharsets.UTF_8))
                .file("bin/run", 0750, SCRIPT)
                .file("deep/er/odd.bin", 0600, ODD)
                .file("empty", 0644, new byte[0])
                .symlink("bin/sh", "busybox")
                .charDevice("/dev/console", 0600, 5, 1));
    }

    @Test
    void hostCpioListsNamesModesAndLinks() throws Exception {
        HostTools.require("cpio");
        var listing = HostTools.run(List.of("cpio", "-t", "-v"), Path.of("."), sample());
        assertEquals(0, listing.exitCode(), listing.stderr());
        String text = listing.stdout();
        assertLine(text, "drwxr-xr-x", "etc");
        assertLine(text, "dr-xr-xr-x", "proc");
        assertLine(text, "-rw-r--r--", "etc/hostname");
        assertLine(text, "-rwxr-x---", "bin/run");
        assertLine(text, "drwxr-xr-x", "bin"); // written automatically as run's parent
        assertLine(text, "drwxr-xr-x", "deep/er");
        assertLine(text, "lrwxrwxrwx", "bin/sh -> busybox");
        assertLine(text, "crw-------", "dev/console");
        assertTrue(text.contains("5,   1"), text);
        assertTrue(listing.stderr().contains("blocks"), listing.stderr());
    }

    @Test
    void hostCpioExtractsContents(@TempDir Path dir) throws Exception {
        HostTools.require("cpio");
        // Device nodes need privileges the test may lack, so extract everything but them.
        byte[] archive = CpioWriter.archive(cpio -> cpio
                .file("/etc/hostname", 0644, "airlock\n".getBytes(StandardCharsets.UTF_8))
                .file("bin/run", 0750, SCRIPT)
                .file("deep/er/odd.bin", 0600, ODD)
                .file("empty", 0644, new byte[0])
                .symlink("bin/sh", "run"));
        var extract = HostTools.run(List.of("cpio", "-i", "-d", "--no-absolute-filenames", "--quiet"), dir, archive);
        assertEquals(0, extract.exitCode(), extract.stderr());
        assertEquals("airlock\n", Files.readString(dir.resolve("etc/hostname")));
        assertArrayEquals(SCRIPT, Files.readAllBytes(dir.resolve("bin/run")));
        assertArrayEquals(ODD, Files.readAllBytes(dir.resolve("deep/er/odd.bin")));
        assertEquals(0, Files.size(dir.resolve("empty")));
        assertEquals("rwxr-x---", PosixFilePermissions.toString(Files.getPosixFilePermissions(dir.resolve("bin/run"))));
        assertEquals("rw-------", PosixFilePermissions.toString(
                Files.getPosixFilePermissions(dir.resolve("deep/er/odd.bin"))));
        assertTrue(Files.isSymbolicLink(dir.resolve("bin/sh")));
        assertEquals("run", Files.readSymbolicLink(dir.resolve("bin/sh")).toString());
        assertArrayEquals(SCRIPT, Files.readAllBytes(dir.resolve("bin/sh")));
        assertTrue(Files.isDirectory(dir.resolve("deep/er"), LinkOption.NOFOLLOW_LINKS));
    }

    @Test
    void layoutIsAlignedDeterministicAndEndsWithTrailer() {
        byte[] archive = sample();
        assertArrayEquals(archive, sample(), "same inputs must give the same bytes");
        assertEquals(0, archive.length % 4);
        List<CpioReader.Entry> entries = CpioReader.read(archive);
        var last = entries.getLast();
        assertEquals(CpioWriter.TRAILER_NAME, last.name());
        assertEquals(0, last.inode());
        int previousInode = 0;
        for (var entry : entries.subList(0, entries.size() - 1)) {
            assertTrue(entry.inode() > previousInode, "inodes increase: " + entry);
            previousInode = entry.inode();
            assertEquals(0, entry.mtime());
            assertEquals(0, entry.headerOffset() % 4);
        }
        var names = entries.stream().map(CpioReader.Entry::name).toList();
        assertEquals(List.of("etc", "proc", "etc/hostname", "bin", "bin/run", "deep", "deep/er", "deep/er/odd.bin",
                "empty", "bin/sh", "dev", "dev/console", "TRAILER!!!"), names);
        var console = entries.get(names.indexOf("dev/console"));
        assertEquals(0020000, console.type());
        assertEquals(5, console.rdevMajor());
        assertEquals(1, console.rdevMinor());
        assertEquals("busybox", entries.get(names.indexOf("bin/sh")).text());
    }

    @Test
    void headerFieldsMatchTheNewcFormat() {
        byte[] archive = CpioWriter.archive(cpio -> cpio.file("a", 0644, new byte[] {'x'}));
        String header = new String(archive, 0, 110, StandardCharsets.US_ASCII);
        // magic, ino 1, mode 0100644, uid, gid, nlink 1, mtime, size 1, dev, rdev, namesize 2 ("a\0"), check
        assertEquals("070701" + "00000001" + "000081A4" + "00000000" + "00000000" + "00000001" + "00000000"
                + "00000001" + "00000000" + "00000000" + "00000000" + "00000000" + "00000002" + "00000000", header);
        // 110 + 2 name bytes = 112, aligned; the data byte then 3 bytes of padding; the trailer at 116.
        assertEquals('a', archive[110]);
        assertEquals(0, archive[111]);
        assertEquals('x', archive[112]);
        assertEquals("070701", new String(archive, 116, 6, StandardCharsets.US_ASCII));
    }

    @Test
    void concatenatedArchivesReadBackInTurn() {
        byte[] first = CpioWriter.archive(cpio -> cpio.directory("airlock", 0755));
        byte[] second = CpioWriter.archive(cpio -> cpio.file("airlock/cmd.sh", 0755, SCRIPT));
        var both = new ByteArrayOutputStream();
        both.writeBytes(first);
        both.writeBytes(new byte[8]); // zero padding between archives is tolerated
        both.writeBytes(second);
        var names = CpioReader.read(both.toByteArray()).stream().map(CpioReader.Entry::name).toList();
        assertEquals(List.of("airlock", "TRAILER!!!", "airlock", "airlock/cmd.sh", "TRAILER!!!"), names);
    }

    @Test
    void refusesAmbiguousOrDuplicatePaths() {
        for (String bad : List.of("", "/", "a/", "a//b", "a/../b", "./a", "TRAILER!!!", "a\0b")) {
            assertThrows(IllegalArgumentException.class,
                    () -> CpioWriter.archive(cpio -> cpio.file(bad, 0644, new byte[0])), bad);
        }
        assertThrows(IllegalArgumentException.class,
                () -> CpioWriter.archive(cpio -> cpio.file("a", 0644, new byte[0]).file("/a", 0644, new byte[0])));
        assertThrows(IllegalArgumentException.class,
                () -> CpioWriter.archive(cpio -> cpio.file("a", 010644, new byte[0])));
        assertThrows(IllegalArgumentException.class, () -> CpioWriter.archive(cpio -> cpio.symlink("a", "")));
    }

    @Test
    void finishIsIdempotentAndCountsBytes() throws IOException {
        var out = new ByteArrayOutputStream();
        var cpio = new CpioWriter(out);
        cpio.file("x", 0644, ODD);
        cpio.finish();
        cpio.finish();
        assertEquals(out.size(), cpio.bytesWritten());
        assertEquals(1, CpioReader.read(out.toByteArray()).stream().filter(e -> e.name().equals("TRAILER!!!")).count());
        assertThrows(IllegalStateException.class, () -> cpio.file("y", 0644, ODD));
    }

    private static void assertLine(String listing, String mode, String nameAndTarget) {
        boolean found = listing.lines().anyMatch(line -> line.startsWith(mode) && line.endsWith(" " + nameAndTarget));
        assertTrue(found, "no '" + mode + " ... " + nameAndTarget + "' in:\n" + listing);
    }
}
