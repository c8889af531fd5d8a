package dev.airlock.cli;

import static org.junit.jupiter.api.Assertions.*;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Properties;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The in-use lock of a template, without a real snapshot: flock locks conflict between descriptors, so one process plays two. */
class TemplatesLockTest {
    @TempDir Path root;

    private Path makeTemplateDir(String name) throws IOException {
        Path d = Files.createDirectories(root.resolve(name));
        Files.writeString(d.resolve(Templates.INFO_FILE), "cpus=1\n");
        Files.writeString(d.resolve("vm.state"), "x");
        Files.createFile(d.resolve(Templates.LOCK_FILE));
        return d;
    }

    @Test
    void aTemplateInUseCannotBeDeletedAndCanOnceReleased() throws IOException {
        Path d = makeTemplateDir("web");
        // Not in this process's table of open templates: delete sees only the lock, as another process would.
        var inUse = new Templates.Template("web", d, null, new Properties());
        inUse.acquire();
        inUse.acquire(); // a second clone: still one lock
        var templates = new Templates(root);
        IOException e = assertThrows(IOException.class, () -> templates.delete("web"));
        assertTrue(e.getMessage().contains("in use"), e.getMessage());
        inUse.release();
        assertThrows(IOException.class, () -> templates.delete("web"), "one clone still runs");
        inUse.release();
        inUse.acquire(); // the lock file stays open between clones and locks again
        assertThrows(IOException.class, () -> templates.delete("web"));
        inUse.release();
        templates.delete("web");
        assertFalse(Files.exists(d));
        inUse.closeLockFile();
    }
}
