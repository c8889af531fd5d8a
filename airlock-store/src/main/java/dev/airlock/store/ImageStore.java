package dev.airlock.store;

import dev.airlock.store.format.ImageManifest;
import dev.airlock.store.io.StoreFile;
import dev.airlock.store.io.StoreFileSystem;
import dev.airlock.store.io.StoreFileSystem.OpenMode;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * A directory of disk images: {@code <root>/images/<name>/} holds an image's manifest, its segments and its
 * Bloom file. The store owns every image it opens and closes them with itself. An image exists once its
 * manifest does; a directory without one is a creation that did not finish and is reused.
 */
public final class ImageStore implements AutoCloseable {
    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,63}");

    private final Path imagesDirectory;
    private final StoreOptions options;
    private final StoreFileSystem fs;
    private final Map<String, DiskImage> openImages = new LinkedHashMap<>();
    private boolean closed;

    private ImageStore(Path root, StoreOptions options) {
        this.imagesDirectory = root.resolve("images");
        this.options = options;
        this.fs = options.fileSystem();
    }

    public static ImageStore open(Path root) {
        return open(root, StoreOptions.defaults());
    }

    public static ImageStore open(Path root, StoreOptions options) {
        ImageStore store = new ImageStore(root, options);
        try {
            store.fs.createDirectories(store.imagesDirectory);
        } catch (IOException e) {
            throw new StoreIOException("cannot create the image directory " + store.imagesDirectory, e);
        }
        return store;
    }

    public StoreOptions options() {
        return options;
    }

    public Path imageDirectory(String name) {
        checkName("image", name);
        return imagesDirectory.resolve(name);
    }

    public synchronized boolean exists(String name) {
        return fs.exists(imageDirectory(name).resolve(ImageManifest.FILE_NAME));
    }

    /** Creates an empty image of {@code sizeBytes} (a multiple of 4096) and opens it. */
    public synchronized DiskImage create(String name, long sizeBytes) {
        checkOpen();
        if (sizeBytes <= 0 || sizeBytes % BlockDevice.BLOCK_SIZE_BYTES != 0) {
            throw new StoreUsageException("image size " + sizeBytes + " bytes must be a positive multiple of "
                    + BlockDevice.BLOCK_SIZE_BYTES);
        }
        return createImage(name, sizeBytes, "", "", 0);
    }

    /** Creates {@code newName}, whose unwritten blocks read through to {@code image} at {@code snapshot}. */
    public synchronized DiskImage clone(String image, String snapshot, String newName) {
        checkOpen();
        DiskImage base = image(image);
        ImageManifest.Snapshot s = base.findSnapshot(snapshot);
        if (s == null) {
            throw new StoreUsageException("image " + image + " has no snapshot named " + snapshot
                    + "; create it with `airlock image snapshot " + image + " " + snapshot + "`");
        }
        return createImage(newName, base.sizeBytes(), image, snapshot, s.sequence());
    }

    private DiskImage createImage(String name, long sizeBytes, String baseImage, String baseSnapshot,
            long baseSequence) {
        Path directory = imageDirectory(name);
        if (exists(name)) {
            throw new StoreUsageException("image " + name + " already exists; pick another name or delete it first");
        }
        try {
            for (Path leftover : fs.list(directory)) {
                fs.deleteIfExists(leftover);
            }
            fs.createDirectories(directory);
            ImageManifest manifest = new ImageManifest(options.random().nextLong(), options.random().nextLong(),
                    sizeBytes, options.clock().millis(), 1, options.segmentSizeBytes(), baseImage, baseSnapshot,
                    baseSequence, List.of());
            writeManifest(fs, directory, manifest);
            fs.syncDirectory(imagesDirectory);
        } catch (IOException e) {
            throw new StoreIOException("cannot create image " + name + " in " + directory, e);
        }
        return image(name);
    }

    /** Opens an image (and, for a clone, its bases), or returns the already open instance. */
    public synchronized DiskImage image(String name) {
        checkOpen();
        DiskImage image = openImages.get(name);
        if (image != null) {
            return image;
        }
        if (!exists(name)) {
            throw new StoreUsageException("no image named " + name + "; list images with `airlock image ls`");
        }
        Path directory = imageDirectory(name);
        ImageManifest manifest = readManifest(name);
        DiskImage base = null;
        if (manifest.isClone()) {
            base = image(manifest.baseImage());
            ImageManifest.Snapshot s = base.findSnapshot(manifest.baseSnapshot());
            if (s == null || s.sequence() != manifest.baseSequence()) {
                throw new CorruptStoreException(directory.resolve(ImageManifest.FILE_NAME), 0, "base snapshot "
                        + manifest.baseImage() + "@" + manifest.baseSnapshot() + " is missing or changed");
            }
        }
        try {
            image = DiskImage.open(name, directory, manifest, base, options);
        } catch (IOException e) {
            throw new StoreIOException("cannot open image " + name, e);
        }
        openImages.put(name, image);
        return image;
    }

    public synchronized ImageManifest readManifest(String name) {
        Path path = imageDirectory(name).resolve(ImageManifest.FILE_NAME);
        try (StoreFile file = fs.open(path, OpenMode.READ)) {
            long size = file.sizeBytes();
            if (size > 16 << 20) {
                throw new CorruptStoreException(path, 0, "image manifest of " + size + " bytes is implausibly large");
            }
            ByteBuffer bytes = ByteBuffer.allocate((int) size);
            file.readFully(bytes, 0);
            return ImageManifest.decode(bytes.flip());
        } catch (ImageManifest.ManifestException e) {
            throw new CorruptStoreException(path, e.offsetBytes, e.getMessage());
        } catch (IOException e) {
            throw new StoreIOException("cannot read " + path, e);
        }
    }

    public synchronized List<ImageInfo> list() {
        checkOpen();
        List<ImageInfo> result = new ArrayList<>();
        try {
            for (Path directory : fs.list(imagesDirectory)) {
                String name = directory.getFileName().toString();
                if (!NAME.matcher(name).matches() || !exists(name)) {
                    continue;
                }
                ImageManifest m = readManifest(name);
                result.add(new ImageInfo(name, m.sizeBytes(), m.createdMillis(), m.baseImage(), m.baseSnapshot(),
                        m.snapshots()));
            }
        } catch (IOException e) {
            throw new StoreIOException("cannot list " + imagesDirectory, e);
        }
        return result;
    }

    public synchronized ImageManifest.Snapshot snapshot(String image, String snapshot) {
        checkOpen();
        return image(image).snapshot(snapshot);
    }

    /** Deletes a snapshot unless a clone reads through it. */
    public synchronized void deleteSnapshot(String image, String snapshot) {
        checkOpen();
        for (ImageInfo info : list()) {
            if (info.baseImage().equals(image) && info.baseSnapshot().equals(snapshot)) {
                throw new StoreUsageException("snapshot " + image + "@" + snapshot + " is the base of clone "
                        + info.name() + "; delete the clone first");
            }
        }
        image(image).deleteSnapshot(snapshot);
    }

    /** Deletes an image unless a clone reads through it. */
    public synchronized void delete(String name) {
        checkOpen();
        if (!exists(name)) {
            throw new StoreUsageException("no image named " + name);
        }
        for (ImageInfo info : list()) {
            if (info.baseImage().equals(name)) {
                throw new StoreUsageException("image " + name + " is the base of clone " + info.name()
                        + "; delete the clone first");
            }
        }
        DiskImage image = openImages.remove(name);
        Path directory = imageDirectory(name);
        try {
            if (image != null) {
                image.close();
            }
            // The manifest goes first: from then on the image does not exist, whatever else remains.
            fs.deleteIfExists(directory.resolve(ImageManifest.FILE_NAME));
            fs.syncDirectory(directory);
            for (Path p : fs.list(directory)) {
                fs.deleteIfExists(p);
            }
            fs.deleteIfExists(directory);
        } catch (IOException e) {
            throw new StoreIOException("cannot delete image " + name, e);
        }
    }

    /** Closes every open image, clones before their bases. */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        List<DiskImage> images = new ArrayList<>(openImages.values());
        StoreException first = null;
        for (int i = images.size() - 1; i >= 0; i--) {
            try {
                images.get(i).close();
            } catch (IOException e) {
                if (first == null) {
                    first = new StoreIOException("cannot close image " + images.get(i).name(), e);
                }
            } catch (StoreException e) {
                if (first == null) {
                    first = e;
                }
            }
        }
        openImages.clear();
        if (first != null) {
            throw first;
        }
    }

    private void checkOpen() {
        if (closed) {
            throw new StoreUsageException("the image store is closed");
        }
    }

    static void checkName(String what, String name) {
        if (name == null || !NAME.matcher(name).matches()) {
            throw new StoreUsageException(what + " name '" + name + "' is not valid: use 1 to 64 letters, digits, "
                    + "'.', '_' or '-', starting with a letter or digit");
        }
    }

    /** Replaces a manifest atomically: write a temporary file, force it, rename it over, sync the directory. */
    static void writeManifest(StoreFileSystem fs, Path directory, ImageManifest manifest) throws IOException {
        Path temp = directory.resolve(ImageManifest.FILE_NAME + ".tmp");
        fs.deleteIfExists(temp);
        try (StoreFile file = fs.open(temp, OpenMode.CREATE_NEW)) {
            file.writeFully(manifest.encode(), 0);
            file.force();
        }
        fs.atomicMove(temp, directory.resolve(ImageManifest.FILE_NAME));
        fs.syncDirectory(directory);
    }
}
