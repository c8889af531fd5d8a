package dev.airlock.store.cli;

import dev.airlock.store.BlockDevice;
import dev.airlock.store.CorruptStoreException;
import dev.airlock.store.DiskImage;
import dev.airlock.store.ImageInfo;
import dev.airlock.store.ImageStore;
import dev.airlock.store.StoreException;
import dev.airlock.store.StoreOptions;
import dev.airlock.store.StoreUsageException;
import dev.airlock.store.format.ImageManifest;
import dev.airlock.store.fsck.ImageChecker;
import dev.airlock.store.fsck.Inconsistency;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.Locale;
import java.util.stream.Collectors;

/**
 * {@code airlock image ...}: create, import, export, snapshot, clone, list and check disk images. Exit
 * codes: 0 done, 1 damage found or an I/O failure, 2 a usage mistake (one line saying what and how to fix).
 */
public final class ImageCommand {
    private ImageCommand() {
    }

    public static final String USAGE = """
            usage: airlock image create NAME --size SIZE      (SIZE in bytes or with K, M, G, T; multiple of 4096)
                   airlock image import NAME RAWFILE         (new image holding a raw disk file)
                   airlock image export NAME[@SNAP] RAWFILE  (write an image or a snapshot as a raw file)
                   airlock image snapshot NAME SNAP
                   airlock image clone NAME@SNAP NEWNAME
                   airlock image rm NAME[@SNAP]              (an image, refused while a clone reads through it; or a snapshot)
                   airlock image ls
                   airlock image fsck NAME""";

    private static final int CHUNK_BLOCKS = 256;

    /** A mistake in the command line; the message is the one line shown. */
    private static final class UsageError extends RuntimeException {
        private static final long serialVersionUID = 1L;

        UsageError(String message) {
            super(message);
        }
    }

    public static int run(String[] args, PrintStream out, PrintStream err, Path storeRoot) {
        return run(args, out, err, storeRoot, StoreOptions.defaults());
    }

    /** As {@link #run(String[], PrintStream, PrintStream, Path)}, with the store's options (tests inject them). */
    public static int run(String[] args, PrintStream out, PrintStream err, Path storeRoot, StoreOptions options) {
        if (args.length == 0) {
            err.println("airlock image: missing subcommand; one of create, import, export, snapshot, clone, ls, fsck");
            err.println(USAGE);
            return 2;
        }
        String command = args[0];
        if (command.equals("help") || command.equals("-h") || command.equals("--help")) {
            out.println(USAGE);
            return 0;
        }
        try {
            return switch (command) {
                case "create" -> create(args, out, storeRoot, options);
                case "import" -> importRaw(args, out, storeRoot, options);
                case "export" -> exportRaw(args, out, storeRoot, options);
                case "snapshot" -> snapshot(args, out, storeRoot, options);
                case "clone" -> cloneImage(args, out, storeRoot, options);
                case "rm" -> remove(args, out, storeRoot, options);
                case "ls" -> list(args, out, storeRoot, options);
                case "fsck" -> fsck(args, out, err, storeRoot, options);
                default -> throw new UsageError("unknown subcommand '" + command
                        + "'; use one of create, import, export, snapshot, clone, ls, fsck");
            };
        } catch (UsageError | StoreUsageException e) {
            err.println("airlock image " + command + ": " + e.getMessage());
            return 2;
        } catch (CorruptStoreException e) {
            err.println("airlock image " + command + ": damaged image: " + e.getMessage()
                    + "; run `airlock image fsck` for a full report");
            return 1;
        } catch (StoreException e) {
            err.println("airlock image " + command + ": " + e.getMessage());
            return 1;
        } catch (IOException e) {
            err.println("airlock image " + command + ": I/O error: " + e.getMessage());
            return 1;
        }
    }

    private static void expectArgs(String[] args, int count, String form) {
        if (args.length != count) {
            throw new UsageError("expected `airlock image " + form + "`, got " + (args.length - 1) + " argument"
                    + (args.length == 2 ? "" : "s"));
        }
    }

    private static int create(String[] args, PrintStream out, Path root, StoreOptions options) {
        String name = null;
        String size = null;
        for (int i = 1; i < args.length; i++) {
            String a = args[i];
            if (a.equals("--size")) {
                if (i + 1 == args.length) {
                    throw new UsageError("--size needs a value, e.g. --size 8G");
                }
                size = args[++i];
            } else if (a.startsWith("--size=")) {
                size = a.substring("--size=".length());
            } else if (a.startsWith("-")) {
                throw new UsageError("unknown option " + a + "; only --size is accepted");
            } else if (name == null) {
                name = a;
            } else {
                throw new UsageError("unexpected argument '" + a + "'; expected `create NAME --size SIZE`");
            }
        }
        if (name == null) {
            throw new UsageError("missing image name; expected `create NAME --size SIZE`");
        }
        if (size == null) {
            throw new UsageError("missing --size; e.g. `airlock image create " + name + " --size 8G`");
        }
        long sizeBytes = parseSize(size);
        try (ImageStore store = ImageStore.open(root, options)) {
            store.create(name, sizeBytes);
        }
        out.println("created image " + name + " of " + formatSize(sizeBytes));
        return 0;
    }

    /** Bytes, or a number with K, M, G or T (powers of 1024, optional "iB"/"B"). */
    static long parseSize(String text) {
        String t = text.trim().toUpperCase(Locale.ROOT);
        long multiplier = 1;
        String digits = t;
        for (String suffix : new String[] {"KIB", "MIB", "GIB", "TIB", "KB", "MB", "GB", "TB", "K", "M", "G", "T", "B"}) {
            if (t.endsWith(suffix)) {
                digits = t.substring(0, t.length() - suffix.length());
                multiplier = switch (suffix.charAt(0)) {
                    case 'K' -> 1L << 10;
                    case 'M' -> 1L << 20;
                    case 'G' -> 1L << 30;
                    case 'T' -> 1L << 40;
                    default -> 1;
                };
                break;
            }
        }
        long value;
        try {
            value = Math.multiplyExact(Long.parseLong(digits), multiplier);
        } catch (NumberFormatException | ArithmeticException e) {
            throw new UsageError("bad size '" + text + "'; give bytes or a number with K, M, G or T, e.g. 8G");
        }
        if (value <= 0 || value % BlockDevice.BLOCK_SIZE_BYTES != 0) {
            throw new UsageError("size " + text + " must be a positive multiple of 4096 bytes, e.g. 8G");
        }
        return value;
    }

    static String formatSize(long bytes) {
        String[] units = {"B", "KiB", "MiB", "GiB", "TiB"};
        int unit = 0;
        double value = bytes;
        while (value >= 1024 && unit < units.length - 1 && bytes % (1L << (10 * (unit + 1))) == 0) {
            value /= 1024;
            unit++;
        }
        return (value == Math.rint(value) ? String.valueOf((long) value) : String.format(Locale.ROOT, "%.1f", value))
                + " " + units[unit];
    }

    private static int importRaw(String[] args, PrintStream out, Path root, StoreOptions options) throws IOException {
        expectArgs(args, 3, "import NAME RAWFILE");
        String name = args[1];
        Path raw = Path.of(args[2]);
        if (!Files.isRegularFile(raw) || !Files.isReadable(raw)) {
            throw new UsageError("cannot read raw file " + raw + "; give the path of an existing, readable file");
        }
        long rawBytes = Files.size(raw);
        if (rawBytes == 0) {
            throw new UsageError("raw file " + raw + " is empty; an image needs at least one 4096-byte block");
        }
        long sizeBytes = (rawBytes + BlockDevice.BLOCK_SIZE_BYTES - 1) / BlockDevice.BLOCK_SIZE_BYTES
                * BlockDevice.BLOCK_SIZE_BYTES;
        long written = 0;
        try (ImageStore store = ImageStore.open(root, options);
                FileChannel in = FileChannel.open(raw, StandardOpenOption.READ)) {
            DiskImage image = store.create(name, sizeBytes);
            ByteBuffer chunk = ByteBuffer.allocate(CHUNK_BLOCKS * BlockDevice.BLOCK_SIZE_BYTES);
            for (long block = 0; block < image.blockCount(); block += CHUNK_BLOCKS) {
                int blocks = (int) Math.min(CHUNK_BLOCKS, image.blockCount() - block);
                chunk.clear().limit(blocks * BlockDevice.BLOCK_SIZE_BYTES);
                long position = block * BlockDevice.BLOCK_SIZE_BYTES;
                while (chunk.hasRemaining()) {
                    int n = in.read(chunk, position + chunk.position());
                    if (n < 0) {
                        break; // the last block is padded with zeros
                    }
                }
                while (chunk.hasRemaining()) {
                    chunk.put((byte) 0);
                }
                // Runs of non-zero blocks only: zeros are what unwritten blocks read as, so the image stays sparse.
                int runStart = -1;
                for (int i = 0; i <= blocks; i++) {
                    boolean zero = i == blocks || isZero(chunk, i);
                    if (!zero && runStart < 0) {
                        runStart = i;
                    } else if (zero && runStart >= 0) {
                        image.write(block + runStart, chunk.slice(runStart * BlockDevice.BLOCK_SIZE_BYTES,
                                (i - runStart) * BlockDevice.BLOCK_SIZE_BYTES));
                        written += i - runStart;
                        runStart = -1;
                    }
                }
            }
        }
        out.println("imported " + raw + " into image " + name + " (" + formatSize(sizeBytes) + ", " + written
                + " non-zero blocks)");
        return 0;
    }

    private static boolean isZero(ByteBuffer chunk, int block) {
        int from = block * BlockDevice.BLOCK_SIZE_BYTES;
        for (int i = from; i < from + BlockDevice.BLOCK_SIZE_BYTES; i += 8) {
            if (chunk.getLong(i) != 0) {
                return false;
            }
        }
        return true;
    }

    private static int exportRaw(String[] args, PrintStream out, Path root, StoreOptions options) throws IOException {
        expectArgs(args, 3, "export NAME[@SNAP] RAWFILE");
        String[] nameAndSnapshot = args[1].split("@", -1);
        if (nameAndSnapshot.length > 2) {
            throw new UsageError("bad image '" + args[1] + "'; expected NAME or NAME@SNAP");
        }
        Path raw = Path.of(args[2]);
        Path parent = raw.toAbsolutePath().getParent();
        if (parent != null && !Files.isDirectory(parent)) {
            throw new UsageError("directory " + parent + " does not exist; create it or choose another RAWFILE");
        }
        try (ImageStore store = ImageStore.open(root, options)) {
            DiskImage image = store.image(nameAndSnapshot[0]);
            BlockDevice device = nameAndSnapshot.length == 2 ? image.snapshotView(nameAndSnapshot[1]) : image;
            try (FileChannel channel = FileChannel.open(raw, StandardOpenOption.WRITE, StandardOpenOption.CREATE,
                    StandardOpenOption.TRUNCATE_EXISTING)) {
                ByteBuffer chunk = ByteBuffer.allocate(CHUNK_BLOCKS * BlockDevice.BLOCK_SIZE_BYTES);
                for (long block = 0; block < device.blockCount(); block += CHUNK_BLOCKS) {
                    int blocks = (int) Math.min(CHUNK_BLOCKS, device.blockCount() - block);
                    chunk.clear().limit(blocks * BlockDevice.BLOCK_SIZE_BYTES);
                    device.read(block, chunk);
                    chunk.flip();
                    boolean allZero = true;
                    for (int i = 0; i < blocks && allZero; i++) {
                        allZero = isZero(chunk, i);
                    }
                    if (!allZero) {
                        long position = block * BlockDevice.BLOCK_SIZE_BYTES;
                        while (chunk.hasRemaining()) {
                            position += channel.write(chunk, position);
                        }
                    }
                }
                if (channel.size() < device.sizeBytes()) {
                    // Holes stay holes; writing the last byte sets the length.
                    channel.write(ByteBuffer.allocate(1), device.sizeBytes() - 1);
                }
                channel.force(false);
            } catch (NoSuchFileException e) {
                throw new UsageError("cannot create " + raw + "; check the directory exists and is writable");
            }
            out.println("exported " + args[1] + " to " + raw + " (" + formatSize(device.sizeBytes()) + ")");
        }
        return 0;
    }

    private static int snapshot(String[] args, PrintStream out, Path root, StoreOptions options) {
        expectArgs(args, 3, "snapshot NAME SNAP");
        try (ImageStore store = ImageStore.open(root, options)) {
            ImageManifest.Snapshot s = store.snapshot(args[1], args[2]);
            out.println("snapshot " + args[1] + "@" + s.name() + " taken at sequence " + s.sequence());
        }
        return 0;
    }

    private static int remove(String[] args, PrintStream out, Path root, StoreOptions options) {
        expectArgs(args, 2, "rm NAME[@SNAP]");
        String[] target = args[1].split("@", -1);
        if (target.length > 2 || target[0].isEmpty() || (target.length == 2 && target[1].isEmpty())) {
            throw new UsageError("rm takes NAME or NAME@SNAP, not '" + args[1] + "'");
        }
        try (ImageStore store = ImageStore.open(root, options)) {
            if (target.length == 2) {
                store.deleteSnapshot(target[0], target[1]);
                out.println("deleted snapshot " + args[1]);
            } else {
                store.delete(target[0]);
                out.println("deleted image " + target[0]);
            }
        }
        return 0;
    }

    private static int cloneImage(String[] args, PrintStream out, Path root, StoreOptions options) {
        expectArgs(args, 3, "clone NAME@SNAP NEWNAME");
        String[] source = args[1].split("@", -1);
        if (source.length != 2 || source[0].isEmpty() || source[1].isEmpty()) {
            throw new UsageError("clone source '" + args[1] + "' must be NAME@SNAP, e.g. debian@fresh");
        }
        try (ImageStore store = ImageStore.open(root, options)) {
            store.clone(source[0], source[1], args[2]);
        }
        out.println("cloned " + args[1] + " as " + args[2]);
        return 0;
    }

    private static int list(String[] args, PrintStream out, Path root, StoreOptions options) {
        expectArgs(args, 1, "ls");
        try (ImageStore store = ImageStore.open(root, options)) {
            List<ImageInfo> images = store.list();
            if (images.isEmpty()) {
                out.println("no images in " + root + "; create one with `airlock image create NAME --size SIZE`");
                return 0;
            }
            int width = Math.max(4, images.stream().mapToInt(i -> i.name().length()).max().orElse(4));
            out.printf(Locale.ROOT, "%-" + width + "s  %10s  %-24s  %s%n", "NAME", "SIZE", "BASE", "SNAPSHOTS");
            for (ImageInfo info : images) {
                String base = info.isClone() ? info.baseImage() + "@" + info.baseSnapshot() : "-";
                String snapshots = info.snapshots().isEmpty() ? "-"
                        : info.snapshots().stream().map(ImageManifest.Snapshot::name).collect(Collectors.joining(","));
                out.printf(Locale.ROOT, "%-" + width + "s  %10s  %-24s  %s%n", info.name(),
                        formatSize(info.sizeBytes()), base, snapshots);
            }
        }
        return 0;
    }

    private static int fsck(String[] args, PrintStream out, PrintStream err, Path root, StoreOptions options)
            throws IOException {
        expectArgs(args, 2, "fsck NAME");
        String name = args[1];
        Path directory;
        try (ImageStore store = ImageStore.open(root, options)) {
            directory = store.imageDirectory(name);
            if (!options.fileSystem().isDirectory(directory)) {
                throw new UsageError("no image named " + name + "; list images with `airlock image ls`");
            }
        }
        ImageChecker.Report report = ImageChecker.check(options.fileSystem(), directory);
        for (String note : report.notes()) {
            out.println("note: " + note);
        }
        for (Inconsistency problem : report.problems()) {
            out.println("error: " + problem);
        }
        if (report.clean()) {
            out.println("fsck " + name + ": ok (" + report.segmentCount() + " segments, " + report.recordCount()
                    + " records)");
            return 0;
        }
        err.println("fsck " + name + ": " + report.problems().size() + " inconsistenc"
                + (report.problems().size() == 1 ? "y" : "ies") + " found");
        return 1;
    }
}
