package dev.airlock.store;

import dev.airlock.store.bloom.BloomMatrix;
import dev.airlock.store.bloom.BloomMatrixFile;
import dev.airlock.store.format.ImageManifest;
import dev.airlock.store.format.RecordId;
import dev.airlock.store.format.RecordIdGenerator;
import dev.airlock.store.format.RecordLayout;
import dev.airlock.store.format.RecordType;
import dev.airlock.store.format.SegmentLayout;
import dev.airlock.store.format.SegmentReader;
import dev.airlock.store.format.SummaryTable;
import dev.airlock.store.index.VersionIndex;
import dev.airlock.store.io.StoreFile;
import dev.airlock.store.io.StoreFileSystem;
import dev.airlock.store.io.StoreFileSystem.OpenMode;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import java.util.random.RandomGenerator;

/**
 * A disk image: a log of records in segment files, a {@link VersionIndex} from blocks to records, and a
 * {@link BloomMatrix} from record ids to segments.
 *
 * <p>Locks, always taken in this order: {@code cleanLock} (one cleaner), {@code appendLock} (the tail
 * and sequence numbers), {@code mapLock} (index, Bloom matrix, segment table; readers share it), then
 * {@code syncLock} (group commit). A clone takes its base's map lock inside its own, never the reverse.
 * Created and owned by {@link ImageStore}.
 */
public final class DiskImage implements BlockDevice {
    static final long HEAD = Long.MAX_VALUE;
    private static final int APPEND_BUFFER_BYTES = 1 << 20;
    private static final int SUMMARY_PER_RECORD_BYTES = SegmentLayout.SUMMARY_ENTRY_BYTES;

    private final String name;
    private final Path directory;
    private final StoreFileSystem fs;
    private final Clock clock;
    private final RandomGenerator random;
    private final RecordIdGenerator ids;
    private final StoreOptions options;
    private final DiskImage base;
    private final long baseSequence;
    private final long sizeBytes;
    private final long blockCount;
    private final int segmentSizeBytes;

    private final Object manifestLock = new Object();
    private volatile ImageManifest manifest;

    private final ReentrantLock cleanLock = new ReentrantLock();
    private final ReentrantLock appendLock = new ReentrantLock();
    private final ReentrantReadWriteLock mapLock = new ReentrantReadWriteLock();
    private final ReentrantLock syncLock = new ReentrantLock();
    private final Condition syncDone = syncLock.newCondition();

    // Guarded by mapLock.
    private final VersionIndex index;
    private BloomMatrix bloom;
    private Segment[] columnSegments;
    private final TreeMap<Long, Segment> segments = new TreeMap<>();
    /** Trim and zero records cover many blocks: how many views reference each, by location. */
    private final HashMap<Long, int[]> tombstoneRefs = new HashMap<>();

    // Guarded by appendLock.
    private Segment tail;
    private long nextSequence;
    private long appendTicket;
    private final ByteBuffer appendBuffer = ByteBuffer.allocateDirect(APPEND_BUFFER_BYTES)
            .order(ByteOrder.LITTLE_ENDIAN);
    private final ArrayList<Pending> pending = new ArrayList<>();
    private int sealsSinceBloomPersist;

    // Guarded by syncLock.
    private long durableTicket;
    private boolean syncing;

    private volatile StoreException failure;
    private volatile boolean closed;
    private volatile boolean bloomRebuiltOnOpen;

    private static final ThreadLocal<ByteBuffer> READ_BUFFER = ThreadLocal.withInitial(() ->
            ByteBuffer.allocate(RecordLayout.HEADER_BYTES + BLOCK_SIZE_BYTES).order(ByteOrder.LITTLE_ENDIAN));

    /** A record appended to the buffer but not yet in the file nor in the maps. */
    private record Pending(RecordType type, long block, long count, long sequence, long location, long idHi,
            long idLo, int offsetBytes, boolean copy) {
    }

    private DiskImage(String name, Path directory, ImageManifest manifest, DiskImage base, StoreOptions options) {
        this.name = name;
        this.directory = directory;
        this.manifest = manifest;
        this.base = base;
        this.baseSequence = manifest.baseSequence();
        this.options = options;
        this.fs = options.fileSystem();
        this.clock = options.clock();
        this.random = options.random();
        this.ids = new RecordIdGenerator(random);
        this.sizeBytes = manifest.sizeBytes();
        this.blockCount = sizeBytes / BLOCK_SIZE_BYTES;
        this.segmentSizeBytes = manifest.segmentSizeBytes();
        this.index = new VersionIndex(1024, new References());
    }

    /** Opens an image whose manifest the store has read: rebuilds maps from footers, scans only the tail. */
    static DiskImage open(String name, Path directory, ImageManifest manifest, DiskImage base, StoreOptions options)
            throws IOException {
        DiskImage image = new DiskImage(name, directory, manifest, base, options);
        image.recover();
        return image;
    }

    public String name() {
        return name;
    }

    public ImageManifest manifest() {
        return manifest;
    }

    /** The image this one was cloned from, or null. */
    public DiskImage base() {
        return base;
    }

    @Override
    public long sizeBytes() {
        return sizeBytes;
    }

    @Override
    public boolean readOnly() {
        return false;
    }

    /** Whether open found the Bloom file missing, stale or corrupt and rebuilt it from segment footers. */
    public boolean bloomRebuiltOnOpen() {
        return bloomRebuiltOnOpen;
    }

    // ---------------------------------------------------------------------------------------------- recovery

    private void recover() throws IOException {
        List<Path> files = new ArrayList<>();
        for (Path p : fs.list(directory)) {
            if (SegmentLayout.parseFileName(p.getFileName().toString()) >= 0) {
                files.add(p);
            }
        }
        files.sort(Comparator.comparingLong(p -> SegmentLayout.parseFileName(p.getFileName().toString())));
        List<SummaryTable> summaries = new ArrayList<>();
        List<Segment> opened = new ArrayList<>();
        long sequenceFloor = manifest.sequenceFloor();
        for (int i = 0; i < files.size(); i++) {
            Path path = files.get(i);
            boolean last = i == files.size() - 1;
            long number = SegmentLayout.parseFileName(path.getFileName().toString());
            StoreFile file = fs.open(path, OpenMode.READ_WRITE);
            String[] problem = new String[1];
            SegmentReader.Header header = SegmentReader.readHeader(file, problem);
            if (header == null) {
                if (last && file.sizeBytes() <= SegmentLayout.HEADER_BYTES) {
                    // Crash while creating the segment: its header never became durable, nothing follows it.
                    file.close();
                    fs.deleteIfExists(path);
                    fs.syncDirectory(directory);
                    continue;
                }
                file.close();
                throw new CorruptStoreException(path, 0, problem[0]);
            }
            if (header.segmentNumber() != number || header.imageIdHi() != manifest.imageIdHi()
                    || header.imageIdLo() != manifest.imageIdLo()) {
                file.close();
                throw new CorruptStoreException(path, SegmentLayout.H_SEGMENT_NUMBER,
                        "segment header names segment " + header.segmentNumber() + " of another image or file name");
            }
            Segment segment = new Segment(number, header.nonce(), path, file, fs);
            sequenceFloor = Math.max(sequenceFloor, header.nextSequence());
            SegmentReader.Footer footer = SegmentReader.readFooter(file);
            SummaryTable summary;
            if (footer.valid()) {
                segment.sealed = true;
                segment.appendOffsetBytes = footer.summaryOffsetBytes();
                summary = footer.summary();
            } else if (!last) {
                file.close();
                throw new CorruptStoreException(path, footer.problemOffsetBytes(), footer.problem()
                        + " (only the newest segment may lack a footer; run `airlock image fsck`)");
            } else {
                SegmentReader.Scan scan = SegmentReader.scan(file, file.sizeBytes(), blockCount);
                if (scan.problem() != null) {
                    if (scan.syncedDataDamaged()) {
                        file.close();
                        throw new CorruptStoreException(path, scan.problemOffsetBytes(), scan.problem()
                                + " in data that had been made durable");
                    }
                    // A torn tail: these bytes were never acknowledged, so dropping them loses no write.
                    file.truncate(scan.validEndBytes());
                    file.force();
                }
                segment.appendOffsetBytes = scan.validEndBytes();
                segment.tailSummary = scan.summary();
                summary = scan.summary();
            }
            segment.syncedOffsetBytes = segment.appendOffsetBytes;
            segment.recordCount = summary.size();
            opened.add(segment);
            summaries.add(summary);
            segments.put(number, segment);
        }
        loadBloom(opened, summaries);
        for (ImageManifest.Snapshot s : manifest.snapshots()) {
            index.addSnapshot(s.sequence());
            sequenceFloor = Math.max(sequenceFloor, s.sequence() + 1);
        }
        sequenceFloor = Math.max(sequenceFloor, replay(opened, summaries) + 1);
        nextSequence = Math.max(1, sequenceFloor);
        Segment newest = opened.isEmpty() ? null : opened.get(opened.size() - 1);
        if (newest != null && !newest.sealed) {
            tail = newest;
        } else {
            tail = createSegment(newest == null ? 0 : newest.number + 1);
        }
    }

    /** Applies every record in sequence order; returns the highest sequence seen. */
    private long replay(List<Segment> opened, List<SummaryTable> summaries) {
        int total = 0;
        for (SummaryTable t : summaries) {
            total += t.size();
        }
        long[] sequences = new long[total];
        long[] refs = new long[total]; // segment ordinal << 32 | entry
        int n = 0;
        for (int s = 0; s < summaries.size(); s++) {
            SummaryTable t = summaries.get(s);
            for (int e = 0; e < t.size(); e++) {
                sequences[n] = t.sequence(e);
                refs[n++] = ((long) s << 32) | e;
            }
        }
        PrimitiveSort.sortBy(sequences, refs);
        long maxSequence = 0;
        for (int i = 0; i < n; i++) {
            int s = (int) (refs[i] >>> 32);
            int e = (int) refs[i];
            SummaryTable t = summaries.get(s);
            RecordType type = t.type(e);
            long location = VersionIndex.location(opened.get(s).number, t.recordOffsetBytes(e),
                    type != RecordType.WRITE);
            applyRecord(type, t.blockIndex(e), t.blockCount(e), t.sequence(e), location);
            maxSequence = Math.max(maxSequence, t.sequence(e));
        }
        return maxSequence;
    }

    private void loadBloom(List<Segment> opened, List<SummaryTable> summaries) {
        long expectedIds = Math.max(1, segmentSizeBytes
                / (RecordLayout.HEADER_BYTES + BLOCK_SIZE_BYTES + SUMMARY_PER_RECORD_BYTES));
        int rows = BloomMatrix.optimalRows(options.bloomFalsePositiveRate(), expectedIds);
        int hashCount = BloomMatrix.optimalHashCount(rows, expectedIds);
        BloomMatrixFile.Contents contents = null;
        Path bloomPath = directory.resolve(BloomMatrixFile.FILE_NAME);
        if (fs.exists(bloomPath)) {
            try (StoreFile file = fs.open(bloomPath, OpenMode.READ)) {
                contents = BloomMatrixFile.read(file);
            } catch (IOException | BloomMatrixFile.BloomFileException e) {
                contents = null; // a cache: rebuild below from the footers
            }
        }
        if (contents != null && (contents.matrix().rows() != rows || contents.matrix().hashCount() != hashCount)) {
            contents = null;
        }
        bloomRebuiltOnOpen = contents == null && !opened.isEmpty();
        bloom = contents != null ? contents.matrix() : new BloomMatrix(rows, hashCount, Math.max(64, opened.size() + 1));
        bloom.ensureColumnCapacity(opened.size() + 1);
        columnSegments = new Segment[bloom.columnCapacity()];
        if (contents != null) {
            for (int c = 0; c < contents.columnSegment().length; c++) {
                Segment s = segments.get(contents.columnSegment()[c]);
                if (s != null && s.sealed && s.column < 0 && s.nonce == contents.columnNonce()[c]
                        && (contents.columnFlags()[c] & BloomMatrixFile.FLAG_SEALED) != 0) {
                    s.column = c;
                    columnSegments[c] = s;
                } else if (contents.columnSegment()[c] >= 0) {
                    bloom.clearColumn(c);
                }
            }
        }
        for (int i = 0; i < opened.size(); i++) {
            Segment s = opened.get(i);
            if (s.column >= 0) {
                continue;
            }
            if (contents != null && s.sealed) {
                bloomRebuiltOnOpen = true;
            }
            allocateColumn(s);
            SummaryTable t = summaries.get(i);
            for (int e = 0; e < t.size(); e++) {
                bloom.add(s.column, t.idHi(e), t.idLo(e));
            }
        }
    }

    private void allocateColumn(Segment s) {
        for (int c = 0; c < columnSegments.length; c++) {
            if (columnSegments[c] == null) {
                columnSegments[c] = s;
                s.column = c;
                bloom.clearColumn(c);
                return;
            }
        }
        int c = columnSegments.length;
        bloom.ensureColumnCapacity(c + 1);
        columnSegments = Arrays.copyOf(columnSegments, bloom.columnCapacity());
        columnSegments[c] = s;
        s.column = c;
    }

    // ---------------------------------------------------------------------------------------------- writes

    @Override
    public void write(long blockIndex, ByteBuffer src) {
        int blocks = blocksIn(src.remaining());
        checkRange(blockIndex, blocks);
        long ticket;
        appendLock.lock();
        try {
            checkWritable();
            ByteBuffer s = src.duplicate();
            for (int i = 0; i < blocks; i++) {
                appendRecord(RecordType.WRITE, blockIndex + i, 1, s);
            }
            flushBuffer();
            ticket = ++appendTicket;
        } catch (IOException e) {
            throw fail("cannot append to " + tail.path, e);
        } finally {
            appendLock.unlock();
        }
        src.position(src.limit());
        awaitDurable(ticket);
    }

    @Override
    public void trim(long firstBlock, long blockCount) {
        zeroRange(RecordType.TRIM, firstBlock, blockCount);
    }

    @Override
    public void writeZeroes(long firstBlock, long blockCount) {
        zeroRange(RecordType.ZERO, firstBlock, blockCount);
    }

    private void zeroRange(RecordType type, long firstBlock, long count) {
        checkRange(firstBlock, count);
        if (count == 0) {
            return;
        }
        long ticket;
        appendLock.lock();
        try {
            checkWritable();
            appendRecord(type, firstBlock, count, null);
            flushBuffer();
            ticket = ++appendTicket;
        } catch (IOException e) {
            throw fail("cannot append to " + tail.path, e);
        } finally {
            appendLock.unlock();
        }
        awaitDurable(ticket);
    }

    @Override
    public void flush() {
        long ticket;
        appendLock.lock();
        try {
            ticket = appendTicket;
        } finally {
            appendLock.unlock();
        }
        awaitDurable(ticket);
    }

    /** Encodes one record into the append buffer. Caller holds appendLock. */
    private void appendRecord(RecordType type, long block, long count, ByteBuffer payload) throws IOException {
        int length = RecordLayout.recordBytes(type);
        makeRoom(length);
        int at = appendBuffer.position();
        if (type == RecordType.WRITE) {
            appendBuffer.put(at + RecordLayout.HEADER_BYTES, payload, payload.position(), BLOCK_SIZE_BYTES);
            payload.position(payload.position() + BLOCK_SIZE_BYTES);
        }
        RecordId id = ids.next();
        long sequence = nextSequence++;
        RecordLayout.encode(appendBuffer, at, type, id.hi(), id.lo(), sequence, block, count,
                (int) tail.syncedOffsetBytes);
        appendBuffer.position(at + length);
        int offset = (int) (tail.appendOffsetBytes + at);
        pending.add(new Pending(type, block, count, sequence,
                VersionIndex.location(tail.number, offset, type != RecordType.WRITE), id.hi(), id.lo(), offset, false));
    }

    /** Appends a record moved by cleaning (same id and sequence); returns its new location. Holds appendLock. */
    private long appendCopy(ByteBuffer record) throws IOException {
        int length = record.remaining();
        makeRoom(length);
        int at = appendBuffer.position();
        appendBuffer.put(at, record, record.position(), length);
        RecordLayout.rewriteSyncedOffset(appendBuffer, at, (int) tail.syncedOffsetBytes);
        appendBuffer.position(at + length);
        RecordType type = RecordLayout.type(appendBuffer, at);
        int offset = (int) (tail.appendOffsetBytes + at);
        long location = VersionIndex.location(tail.number, offset, type != RecordType.WRITE);
        pending.add(new Pending(type, appendBuffer.getLong(at + RecordLayout.BLOCK_INDEX_OFFSET),
                appendBuffer.getLong(at + RecordLayout.BLOCK_COUNT_OFFSET),
                appendBuffer.getLong(at + RecordLayout.SEQUENCE_OFFSET), location,
                appendBuffer.getLong(at + RecordLayout.ID_HI_OFFSET), appendBuffer.getLong(at + RecordLayout.ID_LO_OFFSET),
                offset, true));
        return location;
    }

    /** Ensures the next record of {@code length} bytes fits the buffer and the tail (with its future footer). */
    private void makeRoom(int length) throws IOException {
        long entries = tail.tailSummary.size() + pending.size() + 1L;
        if (tail.appendOffsetBytes + appendBuffer.position() + length + SegmentLayout.footerBytes((int) entries)
                > segmentSizeBytes) {
            flushBuffer();
            rollTail();
        } else if (appendBuffer.remaining() < length) {
            flushBuffer();
        }
    }

    /** Writes buffered records to the tail file, then publishes them to the maps. Holds appendLock. */
    private void flushBuffer() throws IOException {
        if (appendBuffer.position() == 0) {
            return;
        }
        appendBuffer.flip();
        try {
            tail.file.writeFully(appendBuffer, tail.appendOffsetBytes);
        } catch (IOException e) {
            pending.clear();
            throw e;
        } finally {
            appendBuffer.clear();
        }
        long written = 0;
        mapLock.writeLock().lock();
        try {
            for (Pending p : pending) {
                tail.tailSummary.add(p.idHi(), p.idLo(), p.sequence(), p.block(), p.count(), p.offsetBytes(), p.type());
                tail.recordCount++;
                bloom.add(tail.column, p.idHi(), p.idLo());
                if (!p.copy()) {
                    applyRecord(p.type(), p.block(), p.count(), p.sequence(), p.location());
                }
                written = Math.max(written, p.offsetBytes() + RecordLayout.recordBytes(p.type()));
            }
        } finally {
            mapLock.writeLock().unlock();
        }
        tail.appendOffsetBytes = written;
        pending.clear();
    }

    /** Seals the tail with its footer and starts the next segment. Holds appendLock, buffer flushed. */
    private void rollTail() throws IOException {
        Segment old = tail;
        ByteBuffer footer = old.tailSummary.encodeFooter(old.appendOffsetBytes);
        old.file.writeFully(footer, old.appendOffsetBytes);
        old.file.force();
        mapLock.writeLock().lock();
        try {
            old.sealed = true;
            old.tailSummary = null;
        } finally {
            mapLock.writeLock().unlock();
        }
        tail = createSegment(old.number + 1);
        if (++sealsSinceBloomPersist >= options.bloomPersistEverySeals()) {
            sealsSinceBloomPersist = 0;
            persistBloomQuietly();
        }
    }

    private Segment createSegment(long number) throws IOException {
        Path path = directory.resolve(SegmentLayout.fileName(number));
        StoreFile file = fs.open(path, OpenMode.CREATE_NEW);
        long nonce = random.nextLong();
        file.writeFully(SegmentLayout.encodeHeader(number, nonce, manifest.imageIdHi(), manifest.imageIdLo(),
                clock.millis(), nextSequence), 0);
        // Records are appended only after the header is durable, so recovery may drop a headerless newest file.
        file.force();
        fs.syncDirectory(directory);
        Segment segment = new Segment(number, nonce, path, file, fs);
        segment.appendOffsetBytes = SegmentLayout.HEADER_BYTES;
        segment.syncedOffsetBytes = SegmentLayout.HEADER_BYTES;
        segment.tailSummary = new SummaryTable(256);
        mapLock.writeLock().lock();
        try {
            segments.put(number, segment);
            allocateColumn(segment);
        } finally {
            mapLock.writeLock().unlock();
        }
        return segment;
    }

    /** Publishes one record to the index. Holds mapLock for writing (or is replaying at open). */
    private void applyRecord(RecordType type, long block, long count, long sequence, long location) {
        if (type == RecordType.WRITE) {
            index.apply(block, sequence, location);
        } else if (base == null && count > index.headSize()) {
            for (long b : index.headBlocksIn(block, count)) {
                index.applyTombstone(b, sequence, location, false);
            }
        } else {
            for (long b = block; b < block + count; b++) {
                index.applyTombstone(b, sequence, location, base != null && base.hasDataAt(b, baseSequence));
            }
        }
    }

    // ---------------------------------------------------------------------------------------------- group commit

    /**
     * Returns once every append up to {@code ticket} is durable. One waiter at a time runs force() for
     * everyone who appended before it started; the rest wait for it (group commit).
     */
    private void awaitDurable(long ticket) {
        syncLock.lock();
        try {
            while (durableTicket < ticket) {
                checkNotFailed();
                if (syncing) {
                    syncDone.awaitUninterruptibly();
                    continue;
                }
                syncing = true;
                long target = 0;
                Segment segment;
                long offset;
                syncLock.unlock();
                boolean ok = false;
                try {
                    appendLock.lock();
                    try {
                        target = appendTicket;
                        segment = tail;
                        offset = tail.appendOffsetBytes;
                    } finally {
                        appendLock.unlock();
                    }
                    // Older segments were forced when sealed; forcing the tail covers everything up to target.
                    segment.file.force();
                    segment.syncedOffsetBytes = Math.max(segment.syncedOffsetBytes, offset);
                    ok = true;
                } catch (IOException e) {
                    throw fail("cannot sync " + directory, e);
                } finally {
                    syncLock.lock();
                    syncing = false;
                    syncDone.signalAll();
                }
                if (ok) {
                    durableTicket = Math.max(durableTicket, target);
                }
            }
        } finally {
            syncLock.unlock();
        }
    }

    private StoreException fail(String what, IOException e) {
        StoreIOException failed = new StoreIOException("image " + name + ": " + what, e);
        if (failure == null) {
            // After a failed write or fsync the kernel may have dropped dirty pages; only reopening is safe.
            failure = failed;
        }
        return failed;
    }

    private void checkNotFailed() {
        StoreException f = failure;
        if (f != null) {
            throw new StoreException("image " + name + " stopped after an I/O error; reopen it to recover: "
                    + f.getMessage(), f);
        }
    }

    private void checkWritable() {
        if (closed) {
            throw new StoreUsageException("image " + name + " is closed");
        }
        checkNotFailed();
    }

    // ---------------------------------------------------------------------------------------------- reads

    @Override
    public void read(long blockIndex, ByteBuffer dst) {
        readAt(blockIndex, dst, HEAD);
    }

    void readAt(long blockIndex, ByteBuffer dst, long sequence) {
        int blocks = blocksIn(dst.remaining());
        checkRange(blockIndex, blocks);
        int position = dst.position();
        for (int i = 0; i < blocks; i++) {
            readBlock(blockIndex + i, dst.slice(position + i * BLOCK_SIZE_BYTES, BLOCK_SIZE_BYTES), sequence);
        }
        dst.position(dst.limit());
    }

    /** Reads one block as the view at {@code sequence} ({@link #HEAD} for now) sees it into {@code dst}. */
    private void readBlock(long block, ByteBuffer dst, long sequence) {
        long location;
        Segment segment = null;
        mapLock.readLock().lock();
        try {
            if (closed) {
                throw new StoreUsageException("image " + name + " is closed");
            }
            location = sequence == HEAD ? index.lookupHead(block) : index.lookupAt(block, sequence);
            if (location != 0 && !VersionIndex.isTombstone(location)) {
                segment = segments.get(VersionIndex.segmentOf(location));
                segment.retain();
            }
        } finally {
            mapLock.readLock().unlock();
        }
        if (location == 0 && base != null) {
            base.readBlock(block, dst, baseSequence);
            return;
        }
        if (segment == null) {
            zero(dst);
            return;
        }
        try {
            ByteBuffer record = READ_BUFFER.get().clear();
            long offset = VersionIndex.offsetOf(location) & 0xffffffffL;
            try {
                segment.file.readFully(record, offset);
            } catch (IOException e) {
                throw new StoreIOException("image " + name + ": cannot read " + segment.path + " at offset " + offset, e);
            }
            String problem = RecordLayout.problem(record, 0, blockCount);
            if (problem == null && (RecordLayout.type(record, 0) != RecordType.WRITE
                    || record.getLong(RecordLayout.BLOCK_INDEX_OFFSET) != block)) {
                problem = "record is not a write of block " + block;
            }
            if (problem != null) {
                throw new CorruptStoreException(segment.path, offset, problem);
            }
            dst.put(0, record, RecordLayout.HEADER_BYTES, BLOCK_SIZE_BYTES);
        } finally {
            segment.release();
        }
    }

    /** Whether the view at {@code sequence} has data (not zeros) for a block, looking through bases. */
    boolean hasDataAt(long block, long sequence) {
        long location;
        mapLock.readLock().lock();
        try {
            location = sequence == HEAD ? index.lookupHead(block) : index.lookupAt(block, sequence);
        } finally {
            mapLock.readLock().unlock();
        }
        if (location == 0) {
            return base != null && base.hasDataAt(block, baseSequence);
        }
        return !VersionIndex.isTombstone(location);
    }

    private static void zero(ByteBuffer dst) {
        for (int i = 0; i < BLOCK_SIZE_BYTES; i += 8) {
            dst.putLong(i, 0);
        }
    }

    // ---------------------------------------------------------------------------------------------- record ids

    /** Whether a record with this id is still in the log (replication catch-up and dedup ask this). */
    public boolean containsRecord(RecordId id) {
        return findRecord(id).isPresent();
    }

    /** Finds a record by id: the Bloom matrix names candidate segments, their summaries confirm. */
    public Optional<RecordLocation> findRecord(RecordId id) {
        List<Segment> sealedCandidates = new ArrayList<>();
        mapLock.readLock().lock();
        try {
            for (Segment s : candidatesLocked(id)) {
                if (s.tailSummary != null) {
                    int e = s.tailSummary.find(id.hi(), id.lo());
                    if (e >= 0) {
                        return Optional.of(locationOf(s, s.tailSummary, e));
                    }
                } else {
                    s.retain();
                    sealedCandidates.add(s);
                }
            }
        } finally {
            mapLock.readLock().unlock();
        }
        Optional<RecordLocation> found = Optional.empty();
        try {
            for (Segment s : sealedCandidates) {
                if (found.isPresent()) {
                    break;
                }
                SegmentReader.Footer footer;
                try {
                    footer = SegmentReader.readFooter(s.file);
                } catch (IOException e) {
                    throw new StoreIOException("image " + name + ": cannot read footer of " + s.path, e);
                }
                if (!footer.valid()) {
                    throw new CorruptStoreException(s.path, footer.problemOffsetBytes(), footer.problem());
                }
                int e = footer.summary().find(id.hi(), id.lo());
                if (e >= 0) {
                    found = Optional.of(locationOf(s, footer.summary(), e));
                }
            }
        } finally {
            sealedCandidates.forEach(Segment::release);
        }
        return found;
    }

    private static RecordLocation locationOf(Segment s, SummaryTable t, int e) {
        return new RecordLocation(new RecordId(t.idHi(e), t.idLo(e)), s.number, s.path.getFileName().toString(),
                t.recordOffsetBytes(e) & 0xffffffffL, t.sequence(e), t.type(e), t.blockIndex(e), t.blockCount(e));
    }

    /** Candidate segments for an id straight from the Bloom matrix (may include false positives). */
    public List<Long> candidateSegments(RecordId id) {
        List<Long> result = new ArrayList<>();
        mapLock.readLock().lock();
        try {
            for (Segment s : candidatesLocked(id)) {
                result.add(s.number);
            }
        } finally {
            mapLock.readLock().unlock();
        }
        return result;
    }

    /** The live segments whose Bloom column may hold {@code id}; call with the map lock held. */
    private List<Segment> candidatesLocked(RecordId id) {
        List<Segment> result = new ArrayList<>();
        long[] candidates = bloom.candidates(id.hi(), id.lo());
        for (int w = 0; w < candidates.length; w++) {
            for (long bits = candidates[w]; bits != 0; bits &= bits - 1) {
                Segment s = columnSegments[(w << 6) + Long.numberOfTrailingZeros(bits)];
                if (s != null) {
                    result.add(s);
                }
            }
        }
        return result;
    }

    // ---------------------------------------------------------------------------------------------- snapshots

    public List<ImageManifest.Snapshot> snapshots() {
        return manifest.snapshots();
    }

    /** Names the current point of the log; returns once the snapshot and everything before it are durable. */
    public ImageManifest.Snapshot snapshot(String snapshotName) {
        ImageStore.checkName("snapshot", snapshotName);
        synchronized (manifestLock) {
            checkWritable();
            if (findSnapshot(snapshotName) != null) {
                throw new StoreUsageException("image " + name + " already has a snapshot named " + snapshotName
                        + "; pick another name");
            }
            long sequence;
            appendLock.lock();
            try {
                sequence = nextSequence - 1;
                mapLock.writeLock().lock();
                try {
                    // Registered before it is durable: until then the index keeps more than needed, never less.
                    index.addSnapshot(sequence);
                } finally {
                    mapLock.writeLock().unlock();
                }
            } finally {
                appendLock.unlock();
            }
            flush();
            ImageManifest.Snapshot snapshot = new ImageManifest.Snapshot(snapshotName, sequence, clock.millis());
            List<ImageManifest.Snapshot> list = new ArrayList<>(manifest.snapshots());
            list.add(snapshot);
            ImageManifest updated = manifest.withSnapshots(list, Math.max(manifest.sequenceFloor(), sequence + 1));
            try {
                ImageStore.writeManifest(fs, directory, updated);
            } catch (IOException e) {
                throw fail("cannot write the manifest", e);
            }
            manifest = updated;
            return snapshot;
        }
    }

    public ImageManifest.Snapshot findSnapshot(String snapshotName) {
        for (ImageManifest.Snapshot s : manifest.snapshots()) {
            if (s.name().equals(snapshotName)) {
                return s;
            }
        }
        return null;
    }

    /** Removes a snapshot; the store checks first that no clone uses it. */
    void deleteSnapshot(String snapshotName) {
        synchronized (manifestLock) {
            checkWritable();
            ImageManifest.Snapshot snapshot = findSnapshot(snapshotName);
            if (snapshot == null) {
                throw new StoreUsageException("image " + name + " has no snapshot named " + snapshotName);
            }
            List<ImageManifest.Snapshot> list = new ArrayList<>(manifest.snapshots());
            list.remove(snapshot);
            ImageManifest updated = manifest.withSnapshots(list, manifest.sequenceFloor());
            try {
                ImageStore.writeManifest(fs, directory, updated);
            } catch (IOException e) {
                throw fail("cannot write the manifest", e);
            }
            manifest = updated;
            // Dropped from the index only once durable, so cleaning never removes what a surviving snapshot needs.
            mapLock.writeLock().lock();
            try {
                index.removeSnapshot(snapshot.sequence());
            } finally {
                mapLock.writeLock().unlock();
            }
        }
    }

    /** A read-only device showing the image as it was at a snapshot. */
    public BlockDevice snapshotView(String snapshotName) {
        ImageManifest.Snapshot snapshot = findSnapshot(snapshotName);
        if (snapshot == null) {
            throw new StoreUsageException("image " + name + " has no snapshot named " + snapshotName
                    + "; list them with `airlock image ls`");
        }
        long sequence = snapshot.sequence();
        return new BlockDevice() {
            @Override
            public long sizeBytes() {
                return sizeBytes;
            }

            @Override
            public boolean readOnly() {
                return true;
            }

            @Override
            public void read(long blockIndex, ByteBuffer dst) {
                readAt(blockIndex, dst, sequence);
            }

            @Override
            public void write(long blockIndex, ByteBuffer src) {
                throw readOnlyError();
            }

            @Override
            public void trim(long firstBlock, long count) {
                throw readOnlyError();
            }

            @Override
            public void writeZeroes(long firstBlock, long count) {
                throw readOnlyError();
            }

            @Override
            public void flush() {
            }

            private StoreUsageException readOnlyError() {
                return new StoreUsageException("snapshot " + name + "@" + snapshotName
                        + " is read-only; clone it to get a writable image");
            }
        };
    }

    // ---------------------------------------------------------------------------------------------- cleaning

    /**
     * Compacts up to {@code maxSegments} sealed segments whose live fraction is at most
     * {@code maxLiveFraction}: live records are copied to the tail (same id and sequence), the maps are
     * switched to the copies, then the old files are deleted once no reader holds them. Readers are only
     * held up for the moment of the switch.
     */
    public CleaningReport clean(double maxLiveFraction, int maxSegments) {
        cleanLock.lock();
        try {
            checkWritable();
            List<Segment> victims = new ArrayList<>();
            mapLock.readLock().lock();
            try {
                for (Segment s : segments.values()) {
                    if (s.sealed && s.liveRecords <= maxLiveFraction * s.recordCount) {
                        victims.add(s);
                    }
                }
                victims.sort(Comparator.comparingDouble(s -> (double) s.liveRecords / Math.max(1, s.recordCount)));
                if (victims.size() > maxSegments) {
                    victims = new ArrayList<>(victims.subList(0, maxSegments));
                }
                victims.forEach(Segment::retain);
            } finally {
                mapLock.readLock().unlock();
            }
            try {
                return cleanVictims(victims);
            } finally {
                victims.forEach(Segment::release);
            }
        } finally {
            cleanLock.unlock();
        }
    }

    private record Move(long block, long count, long oldLocation, long newLocation) {
    }

    private CleaningReport cleanVictims(List<Segment> victims) {
        List<Move> moves = new ArrayList<>();
        ByteBuffer record = ByteBuffer.allocate(RecordLayout.HEADER_BYTES + BLOCK_SIZE_BYTES)
                .order(ByteOrder.LITTLE_ENDIAN);
        long reclaimed = 0;
        for (Segment victim : victims) {
            if (victim.liveRecords == 0) {
                continue;
            }
            SummaryTable summary;
            try {
                SegmentReader.Footer footer = SegmentReader.readFooter(victim.file);
                if (!footer.valid()) {
                    throw new CorruptStoreException(victim.path, footer.problemOffsetBytes(), footer.problem());
                }
                summary = footer.summary();
            } catch (IOException e) {
                throw new StoreIOException("image " + name + ": cannot read footer of " + victim.path, e);
            }
            for (int e = 0; e < summary.size(); e++) {
                RecordType type = summary.type(e);
                long offset = summary.recordOffsetBytes(e) & 0xffffffffL;
                long location = VersionIndex.location(victim.number, (int) offset, type != RecordType.WRITE);
                boolean live;
                mapLock.readLock().lock();
                try {
                    live = type == RecordType.WRITE ? index.references(summary.blockIndex(e), location)
                            : tombstoneRefs.containsKey(location);
                } finally {
                    mapLock.readLock().unlock();
                }
                if (!live) {
                    continue;
                }
                record.clear().limit(RecordLayout.recordBytes(type));
                try {
                    victim.file.readFully(record, offset);
                } catch (IOException ex) {
                    throw new StoreIOException("image " + name + ": cannot read " + victim.path + " at " + offset, ex);
                }
                record.flip();
                String problem = RecordLayout.problem(record, 0, blockCount);
                if (problem != null) {
                    // Never copy damage forward: it would get a fresh synced-offset and look trustworthy.
                    throw new CorruptStoreException(victim.path, offset, problem);
                }
                appendLock.lock();
                try {
                    checkWritable();
                    long newLocation = appendCopy(record);
                    moves.add(new Move(summary.blockIndex(e), summary.blockCount(e), location, newLocation));
                } catch (IOException ex) {
                    throw fail("cannot append to " + tail.path, ex);
                } finally {
                    appendLock.unlock();
                }
            }
            appendLock.lock();
            try {
                flushBuffer();
                appendTicket++;
            } catch (IOException ex) {
                throw fail("cannot append to " + tail.path, ex);
            } finally {
                appendLock.unlock();
            }
        }
        flush(); // the copies are durable before anything points at them
        mapLock.writeLock().lock();
        try {
            for (Move m : moves) {
                index.relocate(m.block(), m.count(), m.oldLocation(), m.newLocation());
            }
        } finally {
            mapLock.writeLock().unlock();
        }
        // Records that made victims' records dead must be durable before those records disappear.
        flush();
        int cleaned = 0;
        mapLock.writeLock().lock();
        try {
            for (Segment victim : victims) {
                if (victim.liveRecords != 0) {
                    continue; // cannot happen unless a reference was missed; keeping the file is the safe side
                }
                try {
                    reclaimed += victim.file.sizeBytes();
                } catch (IOException e) {
                    // only a statistic
                }
                segments.remove(victim.number);
                bloom.clearColumn(victim.column);
                columnSegments[victim.column] = null;
                victim.retire(true);
                cleaned++;
            }
        } finally {
            mapLock.writeLock().unlock();
        }
        return new CleaningReport(cleaned, moves.size(), reclaimed);
    }

    // ---------------------------------------------------------------------------------------------- bloom file

    /** The Bloom file is a cache: failing to write it costs a rebuild at next open, not the write at hand. */
    private boolean persistBloomQuietly() {
        try {
            persistBloom();
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    /** Rewrites the Bloom file from a copy of the matrix; a cache, so it is not forced. */
    void persistBloom() throws IOException {
        BloomMatrixFile.Contents contents;
        mapLock.readLock().lock();
        try {
            int columns = bloom.columnCapacity();
            long[] segment = new long[columns];
            long[] nonce = new long[columns];
            long[] flags = new long[columns];
            Arrays.fill(segment, -1);
            for (int c = 0; c < columnSegments.length; c++) {
                Segment s = columnSegments[c];
                if (s != null) {
                    segment[c] = s.number;
                    nonce[c] = s.nonce;
                    flags[c] = s.sealed ? BloomMatrixFile.FLAG_SEALED : 0;
                }
            }
            contents = new BloomMatrixFile.Contents(bloom.copy(), segment, nonce, flags);
        } finally {
            mapLock.readLock().unlock();
        }
        Path target = directory.resolve(BloomMatrixFile.FILE_NAME);
        Path temp = directory.resolve(BloomMatrixFile.FILE_NAME + ".tmp");
        fs.deleteIfExists(temp);
        try (StoreFile file = fs.open(temp, OpenMode.CREATE_NEW)) {
            BloomMatrixFile.write(file, contents);
        }
        fs.atomicMove(temp, target);
    }

    // ---------------------------------------------------------------------------------------------- misc

    public ImageStats stats() {
        mapLock.readLock().lock();
        try {
            long records = 0;
            long live = 0;
            long bytes = 0;
            for (Segment s : segments.values()) {
                records += s.recordCount;
                live += s.liveRecords;
                bytes += s.appendOffsetBytes;
            }
            long next;
            appendLock.lock();
            try {
                next = nextSequence;
            } finally {
                appendLock.unlock();
            }
            return new ImageStats(segments.size(), records, live, bytes, next, bloom.columnCapacity());
        } finally {
            mapLock.readLock().unlock();
        }
    }

    /** Flushes, saves the Bloom file and closes the segment files. Called by the store. */
    void close() throws IOException {
        if (closed) {
            return;
        }
        if (failure == null) {
            flush();
            persistBloomQuietly();
        }
        appendLock.lock();
        try {
            mapLock.writeLock().lock();
            try {
                closed = true;
                for (Segment s : segments.values()) {
                    s.retire(false);
                }
                segments.clear();
            } finally {
                mapLock.writeLock().unlock();
            }
        } finally {
            appendLock.unlock();
        }
    }

    private int blocksIn(int bytes) {
        if (bytes % BLOCK_SIZE_BYTES != 0) {
            throw new IllegalArgumentException("transfer of " + bytes + " bytes is not a multiple of "
                    + BLOCK_SIZE_BYTES);
        }
        return bytes / BLOCK_SIZE_BYTES;
    }

    private void checkRange(long first, long count) {
        if (first < 0 || count < 0 || first + count > blockCount || first + count < 0) {
            throw new IllegalArgumentException("blocks " + first + "+" + count + " outside image " + name + " of "
                    + blockCount + " blocks");
        }
    }

    private final class References implements VersionIndex.References {
        @Override
        public void added(long location) {
            Segment s = segments.get(VersionIndex.segmentOf(location));
            if (VersionIndex.isTombstone(location)) {
                int[] count = tombstoneRefs.computeIfAbsent(location, l -> new int[1]);
                if (count[0]++ > 0) {
                    return;
                }
            }
            s.liveRecords++;
        }

        @Override
        public void dropped(long location) {
            Segment s = segments.get(VersionIndex.segmentOf(location));
            if (VersionIndex.isTombstone(location)) {
                int[] count = tombstoneRefs.get(location);
                if (--count[0] > 0) {
                    return;
                }
                tombstoneRefs.remove(location);
            }
            s.liveRecords--;
        }
    }

    @Override
    public String toString() {
        return "DiskImage[" + name + "]";
    }
}
