package dev.airlock.guest.assets;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class IndexPinsTest {

    private static final String NOV = "f60294dc64d700afa90c1833cda096d8b8de1f033e99ab2969a99fb9ea4aff1b";
    private static final String SEP = "1b0d89902b0bde1d8cacb392e3c9b73511abc12b291511c3a9dcd28ad0fa3582";
    private static final String XZ = "main/binary-riscv64/Packages.xz";

    private static final String TEXT = """
            # comment

            %s 9387120 main/binary-riscv64/Packages.xz 2026-11-21T09:15:44Z
              %s  9385284  main/binary-riscv64/Packages.xz  2026-09-12T07:55:41Z   # trailing comment
            %s 12910137 main/binary-riscv64/Packages.gz 2026-09-12T07:55:41Z
            """.formatted(NOV, SEP, "fd752d41f5441b31a8d5885bcbe1a9a1758d56614fd85cce9249923e6902a5e5");

    @Test
    void parsesPinsSkippingCommentsAndBlankLines() {
        IndexPins pins = IndexPins.parse(TEXT, "test.pins");
        assertEquals(3, pins.pins().size());
        assertEquals(new IndexPins.Pin(SEP, 9385284, XZ, "2026-09-12T07:55:41Z"), pins.pins().get(1));
        assertEquals(List.of(XZ, "main/binary-riscv64/Packages.gz"), pins.paths());
    }

    @Test
    void matchNeedsPathHashAndSize() {
        IndexPins pins = IndexPins.parse(TEXT, "test.pins");
        assertEquals("2026-09-12T07:55:41Z", pins.match(XZ, SEP, 9385284).orElseThrow().date());
        assertEquals("2026-09-12T07:55:41Z", pins.match(XZ, SEP.toUpperCase(), 9385284).orElseThrow().date());
        assertEquals(Optional.empty(), pins.match(XZ, SEP, 9385285), "size differs");
        assertEquals(Optional.empty(), pins.match("main/binary-riscv64/Packages.gz", SEP, 9385284), "path differs");
        assertEquals(Optional.empty(), pins.match(XZ, "0".repeat(64), 9385284), "hash differs");
        assertEquals(Optional.empty(), IndexPins.NONE.match(XZ, SEP, 9385284));
    }

    @Test
    void malformedLinesNameTheirSourceAndLine() {
        for (String bad : List.of(
                SEP + " 9385284 " + XZ,                                    // no date
                SEP.substring(1) + " 9385284 " + XZ + " d",                 // short hash
                SEP.toUpperCase() + " 9385284 " + XZ + " d",                // upper-case hex
                SEP + " 93852x4 " + XZ + " d",                              // size not a number
                SEP + " 9385284 /main/binary-riscv64/Packages.xz d",        // absolute path
                SEP + " 9385284 main/../../etc/passwd d",                   // escapes dists/SUITE
                SEP + " 9385284 " + XZ + " d extra")) {
            var e = assertThrows(IllegalArgumentException.class, () -> IndexPins.parse("# pins\n" + bad + "\n", "x.pins"));
            assertTrue(e.getMessage().startsWith("x.pins:2: expected 'SHA256 SIZE PATH DATE'"), e.getMessage());
        }
    }

    @Test
    void builtInPinsHoldTheVerifiedTrixieIndexes() {
        IndexPins pins = IndexPins.builtIn();
        assertEquals(List.of(XZ), pins.paths());
        // From the InRelease files of 12 Sep and 21 Nov 2026, both checked with Debian's key.
        assertEquals("2026-09-12T07:55:41Z", pins.match(XZ, SEP, 9385284).orElseThrow().date());
        assertEquals("2026-11-21T09:15:44Z", pins.match(XZ, NOV, 9387120).orElseThrow().date());
    }
}
