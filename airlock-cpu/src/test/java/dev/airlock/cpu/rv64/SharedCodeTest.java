package dev.airlock.cpu.rv64;

import static org.junit.jupiter.api.Assertions.*;

import dev.airlock.memory.GuestMemory;
import dev.airlock.memory.TemplateImage;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Clones of one template share its decoded code until a clone writes a page. */
class SharedCodeTest {
    static final long BASE = 0x8000_0000L;

    @Test
    void clonesShareTheTemplatesDecodedPagesUntilOneWritesThem(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("vm.mem");
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE)) {
            ByteBuffer code = ByteBuffer.allocate(2 * 4096);
            while (code.hasRemaining()) code.putInt(0x00000013); // nop
            ch.write(code.flip(), 0);
            ch.truncate(64 * 4096);
            if (ch.size() < 64 * 4096) ch.write(ByteBuffer.allocate(1), 64 * 4096 - 1);
        }
        try (TemplateImage image = TemplateImage.open(file, 64 * 4096, new long[] {0, 2});
             GuestMemory a = GuestMemory.fromTemplate(BASE, image);
             GuestMemory b = GuestMemory.fromTemplate(BASE, image);
             GuestMemory own = new GuestMemory(BASE, 64 * 4096)) {
            CodeCache ca = new CodeCache(a), cb = new CodeCache(b), co = new CodeCache(own);
            long[] pa = ca.page(a.hvaOf(BASE)), pb = cb.page(b.hvaOf(BASE));
            assertSame(pa, pb, "two clones run one decoded copy of a template page");
            assertEquals(1, ca.sharedPagesInUse());
            assertNotSame(pa, co.page(own.hvaOf(BASE)), "RAM of its own decodes its own");
            ca.page(a.hvaOf(BASE + 0x1000));
            assertEquals(2, ca.sharedPagesInUse(), "both template pages a runs are shared");

            // a writes the page (as a store to code does: it maps the page for writing, then the store lands).
            assertTrue(ca.written(a.hvaOf(BASE)), "a may have run the template's code there");
            a.write(BASE + 8, new byte[] {0x73, 0, 0x10, 0x10});
            assertEquals(0, pa[CodeCache.DEAD], "the shared copy is not marked dead for the others");
            long[] mine = ca.page(a.hvaOf(BASE));
            assertNotSame(pa, mine, "after its write, a decodes the page privately");
            assertSame(pa, cb.page(b.hvaOf(BASE)), "b still shares it");
            assertEquals(1, ca.sharedPagesInUse());

            // A page the clone wrote before it ever ran it is decoded privately from the start.
            b.write(BASE + 0x1000, new byte[] {0x13, 0, 0, 0});
            assertNotSame(ca.page(a.hvaOf(BASE + 0x1000)), cb.page(b.hvaOf(BASE + 0x1000)));
        }
    }

    @Test
    void clonesShareTranslatedBlocksAndHeadCountsUntilOneWritesThePage(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("vm.mem");
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE)) {
            ByteBuffer code = ByteBuffer.allocate(4096);
            while (code.hasRemaining()) code.putInt(0x00000013);
            ch.write(code.flip(), 0);
            ch.write(ByteBuffer.allocate(1), 16 * 4096 - 1);
        }
        try (TemplateImage image = TemplateImage.open(file, 16 * 4096, new long[] {0, 1});
             GuestMemory a = GuestMemory.fromTemplate(BASE, image);
             GuestMemory b = GuestMemory.fromTemplate(BASE, image)) {
            CodeCache ca = new CodeCache(a), cb = new CodeCache(b);
            long ha = a.hvaOf(BASE), hb = b.hvaOf(BASE);
            long[] ops = ca.page(ha);
            cb.page(hb);
            Block block = new Block() {
                @Override int run(Hart h, long pc, int budget) { return 0; }
            };
            Block[] table = ca.install(ha, ops, 4, block, 0);
            assertSame(table, cb.blocks(hb), "b runs the block a's run translated");
            assertSame(block, cb.blocks(hb)[4]);
            assertSame(ca.heat(ha), cb.heat(hb), "heads count the runs of every clone");
            assertEquals(0, ca.liveBlocks(), "a template's blocks are not charged to one clone");

            assertTrue(ca.written(ha)); // a stores to the page: maps it for writing, then the store lands
            a.write(BASE + 8, new byte[] {0x13, 0, 0, 0});
            assertNull(ca.blocks(ha), "a let go of the page it wrote");
            assertSame(block, cb.blocks(hb)[4], "b keeps running the template's block");
            assertNotSame(cb.heat(hb), ca.heat(ha), "a counts its own copy's heads afresh");
            long[] mine = ca.page(ha);
            Block[] own = ca.install(ha, mine, 4, block, 0);
            assertNotSame(table, own, "a's blocks for its own copy are its own");
            assertEquals(1, ca.liveBlocks());
        }
    }
}
