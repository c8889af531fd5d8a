package dev.airlock.vmm.snapshot;

import dev.airlock.memory.GuestMemory;
import dev.airlock.memory.TemplateImage;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A saved VM opened for restoring: its state file read and checked, its memory file verified
 * against the state's checksums. It is immutable, so one open snapshot (a template) serves any
 * number of restores, and the memory file is checked once rather than per clone.
 *
 * <p>Files in its directory: {@value #STATE_FILE} ({@link StateFile}) and {@value #MEMORY_FILE}
 * ({@link MemoryFile}). The "VM  " section says what machine it fits:
 * <pre>u32 harts | u32 reserved | u64 memory bytes | u64 clock ticks</pre>
 */
public final class Snapshot {
    public static final String STATE_FILE = "vm.state";
    public static final String MEMORY_FILE = "vm.mem";
    static final String VM_TAG = "VM  ";
    static final String MEMORY_TAG = "MEMC";

    private final Path dir;
    private final Map<String, StateFile.Section> sections;
    private final int cpus;
    private final long memoryBytes;
    private final long ticks;
    private final MemoryFile.Checksums memory;
    private final long[] dataRuns;
    private TemplateImage image;

    private Snapshot(Path dir, Map<String, StateFile.Section> sections, int cpus, long memoryBytes, long ticks,
                     MemoryFile.Checksums memory, long[] dataRuns) {
        this.dataRuns = dataRuns;
        this.dir = dir;
        this.sections = sections;
        this.cpus = cpus;
        this.memoryBytes = memoryBytes;
        this.ticks = ticks;
        this.memory = memory;
    }

    /** The machine section for {@link #STATE_FILE}. */
    public static StateFile.Section machineSection(int cpus, long memoryBytes, long ticks) {
        ByteBuffer b = ByteBuffer.allocate(24).order(ByteOrder.LITTLE_ENDIAN);
        b.putInt(cpus).putInt(0).putLong(memoryBytes).putLong(ticks);
        return new StateFile.Section(VM_TAG, 0, b.array());
    }

    /** The memory checksum section for {@link #STATE_FILE}. */
    public static StateFile.Section memorySection(MemoryFile.Checksums checksums) {
        return new StateFile.Section(MEMORY_TAG, 0, checksums.encode());
    }

    /**
     * Reads and checks the snapshot in {@code dir}: the whole state file, then every chunk of the
     * memory file against its checksum.
     *
     * @throws SnapshotFormatException for damage, naming the file and offset
     * @throws NoSuchFileException     if a file is missing
     */
    public static Snapshot open(Path dir) throws IOException {
        Path stateFile = dir.resolve(STATE_FILE);
        Path memoryFile = dir.resolve(MEMORY_FILE);
        if (!Files.isRegularFile(stateFile)) throw new NoSuchFileException(stateFile.toString(), null, "no saved VM state here");
        if (!Files.isRegularFile(memoryFile)) throw new NoSuchFileException(memoryFile.toString(), null, "no saved VM memory here");
        List<StateFile.Section> list = StateFile.read(stateFile);
        var byKey = new HashMap<String, StateFile.Section>();
        for (var s : list) byKey.put(s.tag() + s.instance(), s);
        var vm = required(byKey, stateFile, VM_TAG, 0).buffer();
        try {
            int cpus = vm.getInt();
            vm.getInt();
            long memoryBytes = vm.getLong();
            long ticks = vm.getLong();
            var checksums = MemoryFile.Checksums.decode(required(byKey, stateFile, MEMORY_TAG, 0).buffer());
            if (cpus < 1 || memoryBytes <= 0 || checksums.sizeBytes() != memoryBytes) {
                throw new SnapshotFormatException(stateFile, 0, "the machine section says " + cpus + " harts and "
                        + memoryBytes + " bytes of RAM, the memory checksums " + checksums.sizeBytes() + " bytes");
            }
            long[] runs = MemoryFile.verify(memoryFile, checksums);
            return new Snapshot(dir, Map.copyOf(byKey), cpus, memoryBytes, ticks, checksums, runs);
        } catch (IllegalArgumentException | java.nio.BufferUnderflowException e) {
            throw new SnapshotFormatException(stateFile, 0, "a section is malformed: " + e.getMessage());
        }
    }

    private static StateFile.Section required(Map<String, StateFile.Section> byKey, Path file, String tag, int instance)
            throws SnapshotFormatException {
        var s = byKey.get(tag + instance);
        if (s == null) throw new SnapshotFormatException(file, 0, "no '" + tag.trim() + "' section for instance " + instance);
        return s;
    }

    public Path dir() { return dir; }

    public Path stateFile() { return dir.resolve(STATE_FILE); }

    public Path memoryFile() { return dir.resolve(MEMORY_FILE); }

    public int cpus() { return cpus; }

    public long memoryBytes() { return memoryBytes; }

    /** The guest clock when it was saved; a restored VM's clock carries on from here. */
    public long ticks() { return ticks; }

    public MemoryFile.Checksums memoryChecksums() { return memory; }

    /**
     * The memory file opened for mapping into VMs, copy-on-write: once per snapshot, kept open until
     * {@link #close} (mappings outlive it anyway).
     */
    public synchronized TemplateImage image() {
        if (image == null) image = TemplateImage.open(memoryFile(), memoryBytes, dataRuns);
        return image;
    }

    /** RAM at {@code baseGpa} holding this snapshot's memory, mapped copy-on-write from its file: nothing is copied. */
    public GuestMemory mapMemory(long baseGpa) throws IOException {
        try {
            return GuestMemory.fromTemplate(baseGpa, image());
        } catch (dev.airlock.sys.ErrnoException e) {
            throw new IOException("cannot map " + memoryFile() + ": " + e.getMessage(), e);
        }
    }

    /** Copies this snapshot's memory into {@code ram}, a fresh VM's RAM that reads as zeros (the file was verified at {@link #open}). */
    public void copyMemoryInto(GuestMemory ram) throws IOException {
        if (ram.sizeBytes() != memoryBytes) {
            throw new IOException("the saved memory is " + memoryBytes + " bytes but this VM has " + ram.sizeBytes());
        }
        MemoryFile.copyInto(memoryFile(), ram);
    }

    /** Closes the memory file if it was opened for mapping; VMs that map it keep their mappings. */
    public synchronized void close() {
        if (image != null) image.close();
    }

    /** The section {@code tag} for {@code instance}, or a format error naming the state file. */
    public StateFile.Section section(String tag, int instance) throws SnapshotFormatException {
        return required(sections, stateFile(), tag, instance);
    }

    /** Whether there is a section {@code tag} for {@code instance}. */
    public boolean has(String tag, int instance) {
        return sections.containsKey(tag + instance);
    }
}
