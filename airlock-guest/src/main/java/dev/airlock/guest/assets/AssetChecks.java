package dev.airlock.guest.assets;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * Cheap header checks that a file is what the guest needs, so a wrong or truncated file is
 * reported by name instead of crashing the guest. Usable on user-supplied files too.
 */
public final class AssetChecks {

    /**
     * The RISC-V Linux "Image" header (Documentation/arch/riscv/boot-image-header.rst):
     * <pre>
     * 0x00 code0/code1 (with a PE stub: "MZ" + jump)   0x08 text_offset   0x10 image_size
     * 0x30 magic  "RISCV\0\0\0" (deprecated, still set) 0x38 magic2 "RSC\x05"  0x3c PE offset
     * </pre>
     */
    public static final int IMAGE_MAGIC_OFFSET = 0x30;
    public static final int IMAGE_MAGIC2_OFFSET = 0x38;
    private static final byte[] IMAGE_MAGIC = {'R', 'I', 'S', 'C', 'V', 0, 0, 0};
    private static final byte[] IMAGE_MAGIC2 = {'R', 'S', 'C', 0x05};

    /** ELF e_machine for RISC-V. */
    public static final int EM_RISCV = 243;

    private AssetChecks() {}

    /** Throws unless {@code file} starts with a RISC-V Linux Image header. */
    public static void verifyKernelImage(Path file) throws IOException {
        byte[] header = readHeader(file, 0x40);
        if (!Arrays.equals(header, IMAGE_MAGIC_OFFSET, IMAGE_MAGIC_OFFSET + 8, IMAGE_MAGIC, 0, 8)
                || !Arrays.equals(header, IMAGE_MAGIC2_OFFSET, IMAGE_MAGIC2_OFFSET + 4, IMAGE_MAGIC2, 0, 4)) {
            throw new IOException(file + " is not a RISC-V Linux kernel Image (no RISCV/RSC\\x05 magic at 0x30/0x38)");
        }
    }

    /** Throws unless {@code file} is a 64-bit little-endian RISC-V ELF file. */
    public static void verifyRiscv64Elf(Path file) throws IOException {
        byte[] header = readHeader(file, 20);
        boolean elf = header[0] == 0x7f && header[1] == 'E' && header[2] == 'L' && header[3] == 'F';
        int machine = (header[18] & 0xff) | (header[19] & 0xff) << 8;
        if (!elf || header[4] != 2 /* ELFCLASS64 */ || header[5] != 1 /* little-endian */ || machine != EM_RISCV) {
            throw new IOException(file + " is not a 64-bit RISC-V ELF executable (e_machine " + machine + ")");
        }
    }

    private static byte[] readHeader(Path file, int sizeBytes) throws IOException {
        try (InputStream in = Files.newInputStream(file)) {
            byte[] header = in.readNBytes(sizeBytes);
            if (header.length < sizeBytes) {
                throw new IOException(file + " is too short (" + header.length + " bytes) to be a guest binary");
            }
            return header;
        }
    }
}
