package dev.airlock.vmm.fdt;

import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Arrays;
import java.util.Deque;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * Writes a flattened device tree blob (DTB), version 17, as the Devicetree Specification defines it.
 * Nodes are written depth-first: {@link #beginNode}, its properties, its children, {@link #endNode}.
 *
 * <pre>
 *  offset 0      header, 10 big-endian u32 ({@value #HEADER_BYTES} bytes)
 *  8-aligned     memory reservation block: (u64 address, u64 size) pairs, ended by (0, 0)
 *  4-aligned     structure block: tokens BEGIN_NODE name, PROP len nameoff value, END_NODE, ..., END
 *  then          strings block: NUL-terminated property names, each stored once
 * </pre>
 *
 * <p>Phandles are given out by label: {@link #phandle(String)} may be called before or after the
 * node that {@link #definePhandle(String) defines} it, and {@link #finish()} checks every label
 * referenced was defined. Mistakes in the tree's shape throw {@link IllegalStateException} or
 * {@link IllegalArgumentException} at the call that makes them.
 */
public final class FdtWriter {
    public static final int MAGIC = 0xD00D_FEED;
    public static final int VERSION = 17;
    public static final int LAST_COMPATIBLE_VERSION = 16;
    public static final int HEADER_BYTES = 40;
    public static final int FDT_BEGIN_NODE = 1, FDT_END_NODE = 2, FDT_PROP = 3, FDT_NOP = 4, FDT_END = 9;

    private final ByteSink struct = new ByteSink();
    private final ByteSink strings = new ByteSink();
    private final Map<String, Integer> stringOffsets = new HashMap<>();
    private final List<long[]> reservations = new ArrayList<>();
    private final Map<String, Integer> phandlesByLabel = new LinkedHashMap<>();
    private final Set<String> definedLabels = new HashSet<>();
    /** Per open node: names of its properties so far; null once a child has begun (no more properties then). */
    private final Deque<Set<String>> openNodes = new ArrayDeque<>();
    private final Deque<String> openNames = new ArrayDeque<>();
    private boolean rootWritten;
    private boolean finished;
    private int bootCpuId;

    /** Reserves {@code [gpa, gpa + sizeBytes)} from the OS's memory allocator. */
    public FdtWriter addMemoryReservation(long gpa, long sizeBytes) {
        checkNotFinished();
        if (sizeBytes <= 0) {
            throw new IllegalArgumentException("memory reservation needs a positive size, got " + sizeBytes);
        }
        reservations.add(new long[] {gpa, sizeBytes});
        return this;
    }

    /** The header's boot_cpuid_phys: the hart that boots. */
    public FdtWriter bootCpuId(int hartId) {
        checkNotFinished();
        this.bootCpuId = hartId;
        return this;
    }

    /** Opens a node; the root is named {@code ""}, others {@code name} or {@code name@unit-address}. */
    public FdtWriter beginNode(String name) {
        checkNotFinished();
        Objects.requireNonNull(name, "name");
        if (openNodes.isEmpty()) {
            if (rootWritten) {
                throw new IllegalStateException("a device tree has one root node; '" + name + "' would be a second");
            }
            if (!name.isEmpty()) {
                throw new IllegalArgumentException("the root node's name is \"\", got '" + name + "'");
            }
            rootWritten = true;
        } else {
            if (name.isEmpty() || name.indexOf('/') >= 0 || name.indexOf('\0') >= 0) {
                throw new IllegalArgumentException("bad node name '" + name + "' under " + path());
            }
            openNodes.pop();
            openNodes.push(CHILDREN_BEGUN);
        }
        struct.putU32(FDT_BEGIN_NODE);
        struct.putBytes(name.getBytes(StandardCharsets.US_ASCII));
        struct.putU8(0);
        struct.alignTo(4);
        openNodes.push(new HashSet<>());
        openNames.push(name);
        return this;
    }

    public FdtWriter endNode() {
        checkNotFinished();
        if (openNodes.isEmpty()) {
            throw new IllegalStateException("endNode() without a matching beginNode()");
        }
        openNodes.pop();
        openNames.pop();
        struct.putU32(FDT_END_NODE);
        return this;
    }

    /** A property with raw bytes as its value. */
    public FdtWriter property(String name, byte[] value) {
        checkNotFinished();
        Objects.requireNonNull(value, "value");
        Set<String> names = openNodes.peek();
        if (names == null) {
            throw new IllegalStateException("property '" + name + "' outside any node");
        }
        if (names == CHILDREN_BEGUN) {
            throw new IllegalStateException("property '" + name + "' of " + path()
                    + " comes after a child node; properties must come first");
        }
        if (name == null || name.isEmpty() || name.indexOf('\0') >= 0) {
            throw new IllegalArgumentException("bad property name '" + name + "' in " + path());
        }
        if (!names.add(name)) {
            throw new IllegalStateException("property '" + name + "' written twice in " + path());
        }
        struct.putU32(FDT_PROP);
        struct.putU32(value.length);
        struct.putU32(stringOffset(name));
        struct.putBytes(value);
        struct.alignTo(4);
        return this;
    }

    /** A property without a value, such as {@code interrupt-controller} or {@code ranges}. */
    public FdtWriter propertyEmpty(String name) {
        return property(name, new byte[0]);
    }

    /** A property of 32-bit cells. */
    public FdtWriter propertyU32(String name, int... cells) {
        byte[] value = new byte[4 * cells.length];
        for (int i = 0; i < cells.length; i++) {
            putU32(value, 4 * i, cells[i]);
        }
        return property(name, value);
    }

    /** A property of 64-bit values, each two cells, high cell first. */
    public FdtWriter propertyU64(String name, long... values) {
        byte[] value = new byte[8 * values.length];
        for (int i = 0; i < values.length; i++) {
            putU32(value, 8 * i, (int) (values[i] >>> 32));
            putU32(value, 8 * i + 4, (int) values[i]);
        }
        return property(name, value);
    }

    /** A string property. */
    public FdtWriter propertyString(String name, String value) {
        return propertyStrings(name, value);
    }

    /** A string-list property: each string NUL-terminated, one after another. */
    public FdtWriter propertyStrings(String name, String... values) {
        ByteSink b = new ByteSink();
        for (String s : values) {
            Objects.requireNonNull(s, "string value of " + name);
            if (s.indexOf('\0') >= 0) {
                throw new IllegalArgumentException("string value of '" + name + "' contains NUL");
            }
            b.putBytes(s.getBytes(StandardCharsets.UTF_8));
            b.putU8(0);
        }
        return property(name, b.toArray());
    }

    /** The phandle for {@code label}, given out on first use; the label must be {@link #definePhandle defined} by finish(). */
    public int phandle(String label) {
        Objects.requireNonNull(label, "label");
        return phandlesByLabel.computeIfAbsent(label, l -> phandlesByLabel.size() + 1);
    }

    /** Writes the current node's {@code phandle} property, so other nodes can refer to it as {@code label}. */
    public FdtWriter definePhandle(String label) {
        if (definedLabels.contains(label)) {
            throw new IllegalStateException("phandle label '" + label + "' defined twice (again in " + path() + ")");
        }
        propertyU32("phandle", phandle(label));
        definedLabels.add(label);
        return this;
    }

    /** Ends the tree and returns the blob. The writer cannot be used afterwards. */
    public byte[] finish() {
        checkNotFinished();
        if (!rootWritten) {
            throw new IllegalStateException("the device tree has no root node");
        }
        if (!openNodes.isEmpty()) {
            throw new IllegalStateException("node " + path() + " was never ended");
        }
        for (String label : phandlesByLabel.keySet()) {
            if (!definedLabels.contains(label)) {
                throw new IllegalStateException("phandle label '" + label + "' is referenced but no node defines it");
            }
        }
        struct.putU32(FDT_END);
        finished = true;

        int rsvmapOffset = align(HEADER_BYTES, 8);
        int rsvmapBytes = 16 * (reservations.size() + 1);
        int structOffset = rsvmapOffset + rsvmapBytes; // 8-aligned, so 4-aligned as the struct block needs
        int structBytes = struct.size();
        int stringsOffset = structOffset + structBytes;
        int stringsBytes = strings.size();
        int totalBytes = stringsOffset + stringsBytes;

        byte[] blob = new byte[totalBytes];
        putU32(blob, 0, MAGIC);
        putU32(blob, 4, totalBytes);
        putU32(blob, 8, structOffset);
        putU32(blob, 12, stringsOffset);
        putU32(blob, 16, rsvmapOffset);
        putU32(blob, 20, VERSION);
        putU32(blob, 24, LAST_COMPATIBLE_VERSION);
        putU32(blob, 28, bootCpuId);
        putU32(blob, 32, stringsBytes);
        putU32(blob, 36, structBytes);
        int at = rsvmapOffset;
        for (long[] r : reservations) {
            putU64(blob, at, r[0]);
            putU64(blob, at + 8, r[1]);
            at += 16;
        }
        // the (0, 0) terminator is already zero
        struct.copyTo(blob, structOffset);
        strings.copyTo(blob, stringsOffset);
        return blob;
    }

    private int stringOffset(String name) {
        Integer off = stringOffsets.get(name);
        if (off == null) {
            off = strings.size();
            strings.putBytes(name.getBytes(StandardCharsets.US_ASCII));
            strings.putU8(0);
            stringOffsets.put(name, off);
        }
        return off;
    }

    private String path() {
        if (openNames.isEmpty()) {
            return "(no node)";
        }
        List<String> names = new ArrayList<>(openNames);
        Collections.reverse(names);
        String p = String.join("/", names);
        return p.isEmpty() ? "/" : p;
    }

    private void checkNotFinished() {
        if (finished) {
            throw new IllegalStateException("the device tree was already finished");
        }
    }

    private static int align(int value, int to) {
        return (value + to - 1) & -to;
    }

    private static void putU32(byte[] b, int at, int v) {
        b[at] = (byte) (v >>> 24);
        b[at + 1] = (byte) (v >>> 16);
        b[at + 2] = (byte) (v >>> 8);
        b[at + 3] = (byte) v;
    }

    private static void putU64(byte[] b, int at, long v) {
        putU32(b, at, (int) (v >>> 32));
        putU32(b, at + 4, (int) v);
    }

    /** Marks an open node whose children have begun, after which it takes no more properties. */
    private static final Set<String> CHILDREN_BEGUN = Set.of();

    /** A growable big-endian byte buffer. */
    private static final class ByteSink {
        private byte[] bytes = new byte[256];
        private int size;

        int size() {
            return size;
        }

        void putU8(int v) {
            ensure(1);
            bytes[size++] = (byte) v;
        }

        void putU32(int v) {
            ensure(4);
            FdtWriter.putU32(bytes, size, v);
            size += 4;
        }

        void putBytes(byte[] b) {
            ensure(b.length);
            System.arraycopy(b, 0, bytes, size, b.length);
            size += b.length;
        }

        void alignTo(int to) {
            int padded = align(size, to);
            ensure(padded - size);
            size = padded; // the buffer is zero beyond size, so padding is zeros
        }

        void copyTo(byte[] dst, int at) {
            System.arraycopy(bytes, 0, dst, at, size);
        }

        byte[] toArray() {
            return Arrays.copyOf(bytes, size);
        }

        private void ensure(int more) {
            if (size + more > bytes.length) {
                bytes = Arrays.copyOf(bytes, Math.max(bytes.length * 2, size + more));
            }
        }
    }
}
