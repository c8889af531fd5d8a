package dev.airlock.guest.initramfs;

import java.io.ByteArrayOutputStream;
import java.io.Closeable;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.HashSet;
import java.util.Set;
import java.util.function.Consumer;

/**
 * Writes a cpio archive in the SVR4 "newc" format ({@code 070701}), the format the Linux kernel
 * unpacks as an initramfs.
 *
 * <pre>
 * entry  := header(110 bytes ASCII) name NUL pad4 data pad4
 * header := "070701" ino mode uid gid nlink mtime filesize devmajor devminor
 *           rdevmajor rdevminor namesize check      (each field 8 hex digits)
 * archive:= entry* trailer-entry("TRAILER!!!") pad4
 * </pre>
 *
 * Padding is relative to the start of the archive, so every header starts 4-byte aligned. Output
 * is deterministic: uid, gid and mtime are 0 and inode numbers count up from 1 in write order.
 * Names are stored relative ({@code bin/busybox}), as {@code find . | cpio -o} would, so that host
 * tools extract them under the current directory; the kernel unpacks them from "/".
 *
 * <p>Missing parent directories are written automatically (mode 0755), because the kernel's
 * unpacker creates a file only inside a directory that already exists.
 */
public final class CpioWriter implements Closeable {

    public static final String MAGIC = "070701";
    public static final String TRAILER_NAME = "TRAILER!!!";
    public static final int HEADER_SIZE_BYTES = 110;

    private static final int S_IFDIR = 0040000;
    private static final int S_IFREG = 0100000;
    private static final int S_IFLNK = 0120000;
    private static final int S_IFCHR = 0020000;
    private static final int DEFAULT_DIR_PERMISSIONS = 0755;

    private final OutputStream out;
    private final Set<String> directories = new HashSet<>();
    private final Set<String> names = new HashSet<>();
    private long bytesWritten;
    private int nextInode = 1;
    private boolean finished;

    public CpioWriter(OutputStream out) {
        this.out = out;
    }

    /** Builds a whole archive in memory: {@code CpioWriter.archive(w -> w.file(...))}. */
    public static byte[] archive(Consumer<CpioWriter> contents) {
        var bytes = new ByteArrayOutputStream();
        try (var writer = new CpioWriter(bytes)) {
            contents.accept(writer);
        } catch (IOException e) {
            throw new UncheckedIOException(e); // a ByteArrayOutputStream does not fail
        }
        return bytes.toByteArray();
    }

    public CpioWriter directory(String path, int permissions) {
        String name = normalize(path);
        ensureParents(name);
        if (!directories.add(name)) {
            throw new IllegalArgumentException("directory already in the archive: " + path);
        }
        entry(name, S_IFDIR | permissions(permissions), 2, 0, 0, new byte[0]);
        return this;
    }

    public CpioWriter file(String path, int permissions, byte[] content) {
        String name = normalize(path);
        ensureParents(name);
        entry(name, S_IFREG | permissions(permissions), 1, 0, 0, content);
        return this;
    }

    /** A symbolic link; its data is the target, stored without a trailing NUL. */
    public CpioWriter symlink(String path, String target) {
        if (target.isEmpty() || target.indexOf('\0') >= 0) {
            throw new IllegalArgumentException("bad symlink target for " + path + ": '" + target + "'");
        }
        String name = normalize(path);
        ensureParents(name);
        entry(name, S_IFLNK | 0777, 1, 0, 0, target.getBytes(StandardCharsets.UTF_8));
        return this;
    }

    /** A character device node, e.g. {@code charDevice("/dev/console", 0600, 5, 1)}. */
    public CpioWriter charDevice(String path, int permissions, int major, int minor) {
        if (major < 0 || minor < 0) {
            throw new IllegalArgumentException("bad device number " + major + ":" + minor + " for " + path);
        }
        String name = normalize(path);
        ensureParents(name);
        entry(name, S_IFCHR | permissions(permissions), 1, major, minor, new byte[0]);
        return this;
    }

    /** Bytes written so far, including padding. */
    public long bytesWritten() {
        return bytesWritten;
    }

    /** Writes the trailer and pads the archive to a multiple of 4 bytes. Safe to call twice. */
    public void finish() throws IOException {
        if (finished) {
            return;
        }
        finished = true;
        // The trailer carries inode 0 and nlink 1, as GNU cpio writes it.
        writeEntry(TRAILER_NAME, 0, 0, 1, 0, 0, new byte[0]);
        out.flush();
    }

    /** Finishes the archive and closes the underlying stream. */
    @Override
    public void close() throws IOException {
        try {
            finish();
        } finally {
            out.close();
        }
    }

    private void ensureParents(String name) {
        int slash = name.indexOf('/');
        while (slash >= 0) {
            String parent = name.substring(0, slash);
            if (!directories.contains(parent)) {
                directories.add(parent);
                entry(parent, S_IFDIR | DEFAULT_DIR_PERMISSIONS, 2, 0, 0, new byte[0]);
            }
            slash = name.indexOf('/', slash + 1);
        }
    }

    private void entry(String name, int mode, int nlink, int rdevMajor, int rdevMinor, byte[] data) {
        if (finished) {
            throw new IllegalStateException("archive already finished; cannot add " + name);
        }
        if (!names.add(name)) {
            throw new IllegalArgumentException("path already in the archive: /" + name);
        }
        try {
            writeEntry(name, nextInode++, mode, nlink, rdevMajor, rdevMinor, data);
        } catch (IOException e) {
            throw new UncheckedIOException("writing cpio entry " + name, e);
        }
    }

    private void writeEntry(String name, int inode, int mode, int nlink, int rdevMajor, int rdevMinor, byte[] data)
            throws IOException {
        byte[] nameBytes = name.getBytes(StandardCharsets.UTF_8);
        var header = new StringBuilder(HEADER_SIZE_BYTES).append(MAGIC);
        hex(header, inode);
        hex(header, mode);
        hex(header, 0); // uid
        hex(header, 0); // gid
        hex(header, nlink);
        hex(header, 0); // mtime: fixed so that the same inputs give the same bytes
        hex(header, data.length);
        hex(header, 0); // devmajor
        hex(header, 0); // devminor
        hex(header, rdevMajor);
        hex(header, rdevMinor);
        hex(header, nameBytes.length + 1); // namesize counts the NUL
        hex(header, 0); // check: only used by the "070702" crc format
        write(header.toString().getBytes(StandardCharsets.US_ASCII));
        write(nameBytes);
        write(new byte[] {0});
        pad();
        write(data);
        pad();
    }

    private static void hex(StringBuilder header, long value) {
        String digits = Long.toHexString(value & 0xFFFF_FFFFL).toUpperCase();
        header.append("0".repeat(8 - digits.length())).append(digits);
    }

    private void write(byte[] bytes) throws IOException {
        out.write(bytes);
        bytesWritten += bytes.length;
    }

    private void pad() throws IOException {
        int padding = (int) (-bytesWritten & 3);
        if (padding > 0) {
            write(new byte[padding]);
        }
    }

    private static int permissions(int permissions) {
        if ((permissions & ~07777) != 0) {
            throw new IllegalArgumentException("permissions must fit in 07777: 0" + Integer.toOctalString(permissions));
        }
        return permissions;
    }

    /** "/bin/busybox" and "bin/busybox" both become "bin/busybox"; anything ambiguous is refused. */
    static String normalize(String path) {
        String name = path.startsWith("/") ? path.substring(1) : path;
        if (name.isEmpty() || name.endsWith("/") || name.indexOf('\0') >= 0 || name.equals(TRAILER_NAME)) {
            throw new IllegalArgumentException("bad cpio path: '" + path + "'");
        }
        for (String part : name.split("/", -1)) {
            if (part.isEmpty() || part.equals(".") || part.equals("..")) {
                throw new IllegalArgumentException("bad cpio path: '" + path + "'");
            }
        }
        return name;
    }
}
