package dev.airlock.cli;

import static org.junit.jupiter.api.Assertions.*;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class RuntimeDirTest {
    @TempDir Path root;

    @Test
    void cidsAreDistinctAndComeFromOneBlockFile() throws Exception {
        var dir = new RuntimeDir(root);
        Set<Long> cids = new HashSet<>();
        for (int i = 0; i < RuntimeDir.CID_BLOCK; i++) {
            long cid = dir.claimCid();
            assertTrue(cid >= RuntimeDir.FIRST_CID, "CID " + cid);
            assertTrue(cids.add(cid), "CID " + cid + " handed out twice");
        }
        try (var files = Files.list(root.resolve("cids"))) {
            assertEquals(java.util.List.of("block-0"), files.map(p -> p.getFileName().toString()).toList());
        }
        assertEquals(Path.of(Long.toString(ProcessHandle.current().pid())), Files.readSymbolicLink(root.resolve("cids/block-0")));
        long next = dir.claimCid(); // the block is used up: a second one
        assertFalse(cids.contains(next));
        assertTrue(Files.isSymbolicLink(root.resolve("cids/block-1")));
    }

    @Test
    void aReleasedCidIsClaimedAgainButNotAtOnce() throws Exception {
        var dir = new RuntimeDir(root);
        long a = dir.claimCid();
        dir.releaseCid(a);
        long b = dir.claimCid();
        assertNotEquals(a, b, "a CID just released is not handed out again at once");
        Set<Long> seen = new HashSet<>();
        for (int i = 0; i < RuntimeDir.CID_BLOCK; i++) {
            long c = dir.claimCid();
            seen.add(c);
            dir.releaseCid(c);
        }
        assertTrue(seen.contains(a), "released CIDs come round again within the block");
        try (var files = Files.list(root.resolve("cids"))) {
            assertEquals(1, files.count(), "still one block");
        }
    }

    @Test
    void aLiveProcesssBlockIsSkippedAndADeadOnesTakenOver() throws Exception {
        Files.createDirectories(root.resolve("cids"));
        Files.createSymbolicLink(root.resolve("cids/block-0"), Path.of("1")); // init: alive
        Files.createSymbolicLink(root.resolve("cids/block-1"), Path.of("999999999")); // above any pid_max: dead
        long cid = new RuntimeDir(root).claimCid();
        assertEquals(RuntimeDir.FIRST_CID + RuntimeDir.CID_BLOCK, cid, "block 1, taken over from the dead process");
        assertEquals(Path.of(Long.toString(ProcessHandle.current().pid())), Files.readSymbolicLink(root.resolve("cids/block-1")));
        assertEquals(Path.of("1"), Files.readSymbolicLink(root.resolve("cids/block-0")));
    }

    @Test
    void runtimeDirsOfOneRootShareTheirBlocks() throws Exception {
        long a = new RuntimeDir(root).claimCid();
        long b = new RuntimeDir(root).claimCid();
        assertNotEquals(a, b);
        try (var files = Files.list(root.resolve("cids"))) {
            assertEquals(1, files.count());
        }
    }
}
