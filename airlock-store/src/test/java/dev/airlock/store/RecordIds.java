package dev.airlock.store;

import dev.airlock.store.format.RecordId;
import dev.airlock.store.format.SegmentLayout;
import dev.airlock.store.format.SegmentReader;
import dev.airlock.store.format.SummaryTable;
import dev.airlock.store.io.StoreFile;
import dev.airlock.store.io.StoreFileSystem;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** Test helper: every record id in an image's segments, read by scanning. */
final class RecordIds {
    private RecordIds() {
    }

    static List<RecordId> all(StoreFileSystem fs, Path directory) {
        List<RecordId> ids = new ArrayList<>();
        try {
            for (Path p : fs.list(directory)) {
                if (SegmentLayout.parseFileName(p.getFileName().toString()) < 0) {
                    continue;
                }
                try (StoreFile f = fs.open(p, StoreFileSystem.OpenMode.READ)) {
                    SegmentReader.Footer footer = SegmentReader.readFooter(f);
                    long end = footer.valid() ? footer.summaryOffsetBytes() : f.sizeBytes();
                    SummaryTable t = SegmentReader.scan(f, end, Long.MAX_VALUE / 2).summary();
                    for (int i = 0; i < t.size(); i++) {
                        ids.add(new RecordId(t.idHi(i), t.idLo(i)));
                    }
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return ids;
    }
}
