// Writes the initramfs that `airlock run --disk ... -- CMD` boots (busybox, /init, the given kernel modules, and
// the command archive) to a file, so that scripts/bench-disk.sh can boot the very same bytes in Airlock and QEMU.
// `airlock initrd` writes the module-less base archive only, which cannot see a virtio disk.
// Run with the project's jars on the class path:
//   java -cp 'airlock-cli/target/airlock-cli-*.jar:airlock-cli/target/lib/*' scripts/bench/DiskInitrd.java \
//        OUT MODULE[,MODULE...] -- CMD [ARG...]

import dev.airlock.guest.assets.GuestAssets;
import dev.airlock.guest.initramfs.InitramfsBuilder;

import java.io.ByteArrayOutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

public class DiskInitrd {
    public static void main(String[] args) throws Exception {
        if (args.length < 4 || !args[2].equals("--")) {
            System.err.println("usage: DiskInitrd OUT MODULE[,MODULE...] -- CMD [ARG...]");
            System.exit(2);
        }
        List<String> modules = List.of(args[1].split(","));
        List<String> command = Arrays.asList(args).subList(3, args.length);
        byte[] base = GuestAssets.open().initramfs(modules);
        byte[] cmd = InitramfsBuilder.commandArchive(command, Map.of());
        var out = new ByteArrayOutputStream(base.length + cmd.length + 4);
        out.writeBytes(base);
        while (out.size() % 4 != 0) out.write(0); // each newc archive starts 4-byte aligned, as RunCommand pads
        out.writeBytes(cmd);
        Files.write(Path.of(args[0]), out.toByteArray());
    }
}
