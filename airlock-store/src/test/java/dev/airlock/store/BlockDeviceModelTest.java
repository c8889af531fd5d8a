package dev.airlock.store;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.airlock.store.io.FaultyFileSystem;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.EdgeCasesMode;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.Tuple;
import net.jqwik.api.statistics.Statistics;

/**
 * The store against a trivial model (block → pattern maps), across random writes, trims, zeroing,
 * snapshots, clones, cleaning, clean reopens and crashes injected at a random file operation. After a
 * crash every block must read as it did before the interrupted operation or as that operation meant it
 * to, never anything else; all acknowledged work must survive. Failing runs replay from jqwik's seed.
 */
class BlockDeviceModelTest {
    private static final int BLOCKS = 48;

    enum Kind { WRITE, TRIM, ZERO, SNAPSHOT, DELETE_SNAPSHOT, CLONE, CLEAN, CRASH_DURING_NEXT, REOPEN }

    record Op(Kind kind, int image, int block, int count, long pattern, int crashAfter) {
    }

    @Provide
    Arbitrary<List<Op>> operations() {
        Arbitrary<Kind> kinds = Arbitraries.frequency(Tuple.of(30, Kind.WRITE), Tuple.of(7, Kind.TRIM),
                Tuple.of(3, Kind.ZERO), Tuple.of(5, Kind.SNAPSHOT), Tuple.of(2, Kind.DELETE_SNAPSHOT),
                Tuple.of(3, Kind.CLONE), Tuple.of(4, Kind.CLEAN), Tuple.of(6, Kind.CRASH_DURING_NEXT),
                Tuple.of(2, Kind.REOPEN));
        Arbitrary<Op> op = Combinators.combine(kinds, Arbitraries.integers().between(0, 7),
                Arbitraries.integers().between(0, BLOCKS - 1), Arbitraries.integers().between(1, 5),
                Arbitraries.longs().between(1, 1_000_000), Arbitraries.integers().between(1, 14)).as(Op::new);
        return op.list().ofMinSize(10).ofMaxSize(45);
    }

    /** Logical content of one image: its blocks now, and at each snapshot. */
    private static final class ImageModel {
        final Map<Integer, Long> blocks = new HashMap<>();
        final Map<String, Map<Integer, Long>> snapshots = new LinkedHashMap<>();

        ImageModel copyOf(Map<Integer, Long> content) {
            blocks.putAll(content);
            return this;
        }
    }

    private final Map<String, ImageModel> model = new LinkedHashMap<>();
    private final Map<String, String> cloneBases = new HashMap<>(); // "image@snap" used by a clone
    private FaultyFileSystem fs;
    private StoreOptions options;
    private ImageStore store;
    private int names;

    @Property(tries = 250, edgeCases = EdgeCasesMode.NONE)
    void storeBehavesLikeTheModel(@ForAll("operations") List<Op> ops, @ForAll long seed) {
        model.clear();
        cloneBases.clear();
        fs = new FaultyFileSystem(new SplittableRandom(seed));
        options = TestStores.options(fs, seed).withSegmentSizeBytes(StoreOptions.MIN_SEGMENT_SIZE_BYTES);
        store = ImageStore.open(TestStores.ROOT, options);
        store.create("img0", (long) BLOCKS * BlockDevice.BLOCK_SIZE_BYTES);
        model.put("img0", new ImageModel());
        int armed = 0;
        for (Op op : ops) {
            if (op.kind() == Kind.CRASH_DURING_NEXT) {
                armed = op.crashAfter();
                continue;
            }
            if (armed > 0) {
                fs.armCrashAfterOperations(armed);
                armed = 0;
                runWithCrash(op);
            } else {
                apply(op);
            }
        }
        verifyAll();
        store.close();
    }

    private String imageFor(Op op) {
        List<String> list = new ArrayList<>(model.keySet());
        return list.get(op.image() % list.size());
    }

    private void apply(Op op) {
        String name = imageFor(op);
        ImageModel m = model.get(name);
        DiskImage image = store.image(name);
        int count = Math.min(op.count(), BLOCKS - op.block());
        switch (op.kind()) {
            case WRITE -> {
                ByteBuffer data = ByteBuffer.allocate(count * BlockDevice.BLOCK_SIZE_BYTES);
                for (int i = 0; i < count; i++) {
                    data.put(TestStores.block(op.pattern() + i));
                }
                image.write(op.block(), data.flip());
                for (int i = 0; i < count; i++) {
                    m.blocks.put(op.block() + i, op.pattern() + i);
                }
                for (int i = 0; i < count; i++) {
                    assertArrayEquals(TestStores.block(op.pattern() + i), read(image, op.block() + i));
                }
            }
            case TRIM, ZERO -> {
                if (op.kind() == Kind.TRIM) {
                    image.trim(op.block(), count);
                } else {
                    image.writeZeroes(op.block(), count);
                }
                for (int i = 0; i < count; i++) {
                    m.blocks.remove(op.block() + i);
                }
            }
            case SNAPSHOT -> {
                String snap = "s" + names++;
                store.snapshot(name, snap);
                m.snapshots.put(snap, new HashMap<>(m.blocks));
            }
            case DELETE_SNAPSHOT -> {
                if (m.snapshots.isEmpty()) {
                    return;
                }
                String snap = new ArrayList<>(m.snapshots.keySet()).get(op.block() % m.snapshots.size());
                if (cloneBases.containsValue(name + "@" + snap)) {
                    assertThrows(StoreUsageException.class, () -> store.deleteSnapshot(name, snap));
                } else {
                    store.deleteSnapshot(name, snap);
                    m.snapshots.remove(snap);
                }
            }
            case CLONE -> {
                if (m.snapshots.isEmpty() || model.size() >= 6) {
                    return;
                }
                String snap = new ArrayList<>(m.snapshots.keySet()).get(op.block() % m.snapshots.size());
                String clone = "c" + names++;
                store.clone(name, snap, clone);
                model.put(clone, new ImageModel().copyOf(m.snapshots.get(snap)));
                cloneBases.put(clone, name + "@" + snap);
            }
            case CLEAN -> image.clean(op.count() / 5.0, 1 + op.block() % 8);
            case REOPEN -> {
                store.close();
                store = ImageStore.open(TestStores.ROOT, options);
                verifyAll();
            }
            case CRASH_DURING_NEXT -> throw new AssertionError("handled by the caller");
        }
    }

    /** Runs an operation that may be cut by a power loss, then recovers and reconciles the model. */
    private void runWithCrash(Op op) {
        String name = imageFor(op);
        ImageModel before = model.get(name);
        Map<Integer, Long> blocksBefore = new HashMap<>(before.blocks);
        Map<String, ImageModel> modelBefore = new LinkedHashMap<>(model);
        int namesBefore = names;
        List<String> snapshotsBefore = new ArrayList<>(before.snapshots.keySet());
        boolean crashed = false;
        try {
            apply(op);
        } catch (StoreException e) {
            if (!fs.poweredOff()) {
                throw e;
            }
            crashed = true;
        }
        crashed |= fs.poweredOff();
        fs.disarm();
        Statistics.label("crash during " + op.kind()).collect(crashed);
        if (!crashed) {
            return;
        }
        fs.crash();
        store = ImageStore.open(TestStores.ROOT, options);
        // Undo the model's optimistic update, then accept whichever outcome the store shows.
        model.clear();
        model.putAll(modelBefore);
        ImageModel m = model.get(name);
        switch (op.kind()) {
            case WRITE, TRIM, ZERO -> {
                m.blocks.clear();
                m.blocks.putAll(blocksBefore);
                DiskImage image = store.image(name);
                int count = Math.min(op.count(), BLOCKS - op.block());
                for (int i = 0; i < count; i++) {
                    int block = op.block() + i;
                    byte[] actual = read(image, block);
                    Long old = blocksBefore.get(block);
                    Long intended = op.kind() == Kind.WRITE ? Long.valueOf(op.pattern() + i) : null;
                    if (Arrays.equals(actual, TestStores.block(intended == null ? 0 : intended))) {
                        put(m, block, intended);
                    } else if (!Arrays.equals(actual, TestStores.block(old == null ? 0 : old))) {
                        fail("block " + block + " of " + name + " is neither its old nor its new content");
                    }
                }
            }
            case SNAPSHOT -> {
                String snap = "s" + namesBefore;
                if (store.image(name).findSnapshot(snap) == null) {
                    m.snapshots.remove(snap);
                } else {
                    m.snapshots.put(snap, new HashMap<>(m.blocks));
                }
            }
            case DELETE_SNAPSHOT -> {
                for (String snap : new ArrayList<>(m.snapshots.keySet())) {
                    if (store.image(name).findSnapshot(snap) == null) {
                        m.snapshots.remove(snap);
                    }
                }
            }
            case CLONE -> {
                String clone = "c" + namesBefore;
                if (store.exists(clone)) {
                    String snap = snapshotsBefore.get(op.block() % snapshotsBefore.size());
                    model.put(clone, new ImageModel().copyOf(m.snapshots.get(snap)));
                    cloneBases.put(clone, name + "@" + snap);
                } else {
                    model.remove(clone);
                    cloneBases.remove(clone);
                }
            }
            default -> {
            }
        }
        verifyAll();
    }

    private static void put(ImageModel m, int block, Long pattern) {
        if (pattern == null) {
            m.blocks.remove(block);
        } else {
            m.blocks.put(block, pattern);
        }
    }

    private void verifyAll() {
        for (Map.Entry<String, ImageModel> e : model.entrySet()) {
            DiskImage image = store.image(e.getKey());
            verify(e.getKey(), image, e.getValue().blocks);
            for (Map.Entry<String, Map<Integer, Long>> s : e.getValue().snapshots.entrySet()) {
                verify(e.getKey() + "@" + s.getKey(), image.snapshotView(s.getKey()), s.getValue());
            }
            assertEquals(e.getValue().snapshots.keySet().stream().sorted().toList(),
                    image.snapshots().stream().map(s -> s.name()).sorted().toList());
        }
        assertTrue(store.list().size() >= model.size());
    }

    private static void verify(String what, BlockDevice device, Map<Integer, Long> expected) {
        ByteBuffer all = ByteBuffer.allocate(BLOCKS * BlockDevice.BLOCK_SIZE_BYTES);
        device.read(0, all);
        for (int b = 0; b < BLOCKS; b++) {
            byte[] actual = Arrays.copyOfRange(all.array(), b * BlockDevice.BLOCK_SIZE_BYTES,
                    (b + 1) * BlockDevice.BLOCK_SIZE_BYTES);
            Long pattern = expected.get(b);
            if (!Arrays.equals(TestStores.block(pattern == null ? 0 : pattern), actual)) {
                fail(what + " block " + b + " differs from the model (expected pattern " + pattern + ")");
            }
        }
    }

    private static byte[] read(BlockDevice device, int block) {
        byte[] b = new byte[BlockDevice.BLOCK_SIZE_BYTES];
        device.read(block, b);
        return b;
    }
}
