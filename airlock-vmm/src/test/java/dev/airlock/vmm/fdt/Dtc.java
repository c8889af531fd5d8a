package dev.airlock.vmm.fdt;

import static org.junit.jupiter.api.Assertions.fail;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

/** Runs the real device-tree compiler, so our blobs are checked by the tool the ecosystem trusts. */
final class Dtc {
    record Result(int exitCode, String dts, String warnings) {}

    private Dtc() {}

    static Path executable() {
        String path = System.getenv().getOrDefault("PATH", "");
        for (String dir : path.split(File.pathSeparator)) {
            Path candidate = Path.of(dir, "dtc");
            if (Files.isExecutable(candidate)) {
                return candidate;
            }
        }
        // Fail, never skip: without dtc nothing outside our own code would have checked the blob.
        return fail("dtc (device-tree-compiler) is not on PATH; run scripts/setup-host.sh "
                + "or apt-get install device-tree-compiler");
    }

    /** {@code dtc -I dtb -O dts} of {@code blob}. */
    static Result decompile(byte[] blob) throws IOException, InterruptedException {
        Path dtc = executable();
        Path in = Files.createTempFile("airlock-", ".dtb");
        Path err = Files.createTempFile("airlock-", ".err");
        try {
            Files.write(in, blob);
            Process p = new ProcessBuilder(dtc.toString(), "-I", "dtb", "-O", "dts", "-o", "-", in.toString())
                    .redirectError(err.toFile())
                    .start();
            String dts = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!p.waitFor(30, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                return fail("dtc did not finish within 30 s");
            }
            return new Result(p.exitValue(), dts, Files.readString(err));
        } finally {
            Files.deleteIfExists(in);
            Files.deleteIfExists(err);
        }
    }
}
