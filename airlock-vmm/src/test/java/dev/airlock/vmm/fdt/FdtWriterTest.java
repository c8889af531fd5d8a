package dev.airlock.vmm.fdt;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

class FdtWriterTest {
    private static byte[] smallTree() {
        FdtWriter w = new FdtWriter();
        w.addMemoryReservation(0x8000_0000L, 0x20_0000L);
        w.addMemoryReservation(0x1_0000_0000L, 0x1000L);
        w.bootCpuId(3);
        w.beginNode("");
        w.propertyU32("#address-cells", 2);
        w.propertyString("compatible", "test");
        w.beginNode("a@1");
        w.propertyString("compatible", "x"); // the name "compatible" is stored once
        w.propertyU64("big", 0x1122_3344_5566_7788L);
        w.propertyEmpty("flag");
        w.property("raw", new byte[] {1, 2, 3, 4, 5});
        w.propertyStrings("list", "p", "qq", "");
        w.propertyU32("ref", w.phandle("b"));
        w.endNode();
        w.beginNode("b");
        w.definePhandle("b");
        w.endNode();
        w.endNode();
        return w.finish();
    }

    @Test
    void headerBlocksAndAlignmentFollowTheSpecification() {
        byte[] blob = smallTree();
        FdtParser p = new FdtParser(blob); // checks magic, totalsize, block bounds, alignment, padding, tokens
        FdtParser.Header h = p.header;
        assertEquals(0xD00DFEED, h.magic());
        assertEquals(17, h.version());
        assertEquals(16, h.lastCompatibleVersion());
        assertEquals(blob.length, h.totalSize());
        assertEquals(3, h.bootCpuId());
        assertEquals(40, h.rsvmapOffset(), "right after the 40-byte header, which is 8-aligned");
        assertEquals(h.rsvmapOffset() + 3 * 16, h.structOffset(), "two reservations and the terminator");
        assertEquals(h.structOffset() + h.structSize(), h.stringsOffset());
        assertEquals(h.stringsOffset() + h.stringsSize(), h.totalSize());
        assertEquals(0, h.structSize() % 4);
        assertEquals(FdtWriter.FDT_END, ByteBuffer.wrap(blob).getInt(h.structOffset() + h.structSize() - 4), "ends with FDT_END");
        assertEquals(2, p.reservations.size());
        assertArrayEquals(new long[] {0x8000_0000L, 0x20_0000L}, p.reservations.get(0));
        assertArrayEquals(new long[] {0x1_0000_0000L, 0x1000L}, p.reservations.get(1));
    }

    @Test
    void propertyValuesAreBigEndianAndStringsAreShared() {
        byte[] blob = smallTree();
        FdtParser p = new FdtParser(blob);
        FdtParser.Node a = p.root.at("a@1");
        assertArrayEquals(new byte[] {0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, (byte) 0x88}, a.prop("big"));
        assertArrayEquals(new byte[0], a.prop("flag"));
        assertArrayEquals(new byte[] {1, 2, 3, 4, 5}, a.prop("raw"));
        assertEquals(List.of("p", "qq", ""), a.strings("list"));
        assertArrayEquals(new int[] {2}, p.root.cells("#address-cells"));
        assertArrayEquals(p.root.at("b").cells("phandle"), a.cells("ref"));

        String strings = new String(blob, p.header.stringsOffset(), p.header.stringsSize(), StandardCharsets.US_ASCII);
        assertEquals(strings.indexOf("compatible\0"), strings.lastIndexOf("compatible\0"), "stored once: " + strings);
    }

    @Test
    void dtcAgreesWithTheBlob() throws Exception {
        Dtc.Result r = Dtc.decompile(smallTree());
        assertEquals(0, r.exitCode(), r.warnings());
        assertTrue(r.dts().contains("/memreserve/\t0x0000000080000000 0x0000000000200000;"), r.dts());
        assertTrue(r.dts().contains("/memreserve/\t0x0000000100000000 0x0000000000001000;"), r.dts());
        assertTrue(r.dts().contains("big = <0x11223344 0x55667788>;"), r.dts());
        assertTrue(r.dts().contains("list = \"p\\0qq\\0\";"), r.dts());
        assertTrue(r.dts().contains("flag;"), r.dts());
        assertTrue(r.dts().contains("raw = [01 02 03 04 05];"), r.dts());
        assertTrue(r.dts().contains("a@1 {"), r.dts());
    }

    @Test
    void anEmptyRootIsAValidTree() {
        FdtWriter w = new FdtWriter();
        w.beginNode("").endNode();
        FdtParser p = new FdtParser(w.finish());
        assertEquals(0, p.header.stringsSize());
        assertTrue(p.root.properties.isEmpty());
    }

    @Test
    void misshapenTreesAreRejectedWhereTheMistakeIsMade() {
        assertThrows(IllegalStateException.class, () -> new FdtWriter().propertyU32("x", 1), "outside a node");
        assertThrows(IllegalStateException.class, () -> new FdtWriter().endNode());
        assertThrows(IllegalArgumentException.class, () -> new FdtWriter().beginNode("named-root"));
        assertThrows(IllegalStateException.class, () -> new FdtWriter().finish(), "no root");

        FdtWriter afterChild = new FdtWriter().beginNode("").beginNode("c").endNode();
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> afterChild.propertyU32("late", 1));
        assertTrue(e.getMessage().contains("late"), e.getMessage());

        FdtWriter twice = new FdtWriter().beginNode("").propertyU32("x", 1);
        assertThrows(IllegalStateException.class, () -> twice.propertyU32("x", 2));

        FdtWriter badName = new FdtWriter().beginNode("");
        assertThrows(IllegalArgumentException.class, () -> badName.beginNode("a/b"));
        assertThrows(IllegalArgumentException.class, () -> badName.beginNode(""));
        assertThrows(IllegalArgumentException.class, () -> badName.propertyString("s", "nul\0inside"));

        FdtWriter open = new FdtWriter().beginNode("").beginNode("child");
        e = assertThrows(IllegalStateException.class, open::finish);
        assertTrue(e.getMessage().contains("child"), e.getMessage());

        FdtWriter secondRoot = new FdtWriter().beginNode("").endNode();
        assertThrows(IllegalStateException.class, () -> secondRoot.beginNode(""));

        FdtWriter dangling = new FdtWriter().beginNode("");
        dangling.propertyU32("ref", dangling.phandle("nowhere"));
        dangling.endNode();
        e = assertThrows(IllegalStateException.class, dangling::finish);
        assertTrue(e.getMessage().contains("nowhere"), e.getMessage());

        FdtWriter doubleDefine = new FdtWriter().beginNode("").beginNode("a").definePhandle("x").endNode().beginNode("b");
        assertThrows(IllegalStateException.class, () -> doubleDefine.definePhandle("x"));

        FdtWriter done = new FdtWriter().beginNode("").endNode();
        done.finish();
        assertThrows(IllegalStateException.class, done::finish);
        assertThrows(IllegalArgumentException.class, () -> new FdtWriter().addMemoryReservation(0x1000, 0));
    }

    @Test
    void phandlesAreGivenOutInFirstUseOrderStartingAtOne() {
        FdtWriter w = new FdtWriter();
        assertEquals(1, w.phandle("a"));
        assertEquals(2, w.phandle("b"));
        assertEquals(1, w.phandle("a"));
    }
}
