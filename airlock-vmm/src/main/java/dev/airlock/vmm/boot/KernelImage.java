package dev.airlock.vmm.boot;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * A guest kernel as loadable pieces: either a RISC-V Linux {@code Image} (loaded raw at RAM +
 * text_offset, entered in S-mode) or an ELF64 RISC-V executable (PT_LOAD segments at their physical
 * addresses, entered in M-mode: bare-metal programs). Only headers are read here; the loader copies
 * each segment from the file straight into guest RAM.
 */
public record KernelImage(Kind kind, Path file, List<Segment> segments, long entryGpa, long endGpa) {
    public enum Kind { LINUX_IMAGE, ELF }

    /** {@code fileBytes} from {@code fileOffset} go to {@code gpa}; the rest of {@code memSizeBytes} reads as zero. */
    public record Segment(long gpa, long fileOffset, long fileBytes, long memSizeBytes) {}

    private static final int HEADER_BYTES = 64 * 1024;

    private static final int IMAGE_MAGIC2 = 0x05435352; // "RSC\x05" little-endian, at offset 0x38
    private static final int ELF_MAGIC = 0x464c457f;
    private static final int EM_RISCV = 243;

    public static KernelImage load(Path file, long ramBaseGpa) throws BootException {
        byte[] bytes;
        long fileSize;
        try (var in = Files.newInputStream(file)) {
            fileSize = Files.size(file);
            bytes = in.readNBytes(HEADER_BYTES);
        } catch (NoSuchFileException e) {
            throw new BootException("kernel " + file + " does not exist; pass an existing file with --kernel");
        } catch (IOException e) {
            throw new BootException("cannot read kernel " + file + ": " + e.getMessage());
        }
        ByteBuffer b = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        if (bytes.length >= 4 && b.getInt(0) == ELF_MAGIC) return elf(file, b, fileSize);
        if (bytes.length < 64 || b.getInt(0x38) != IMAGE_MAGIC2) {
            throw new BootException("kernel " + file + " is neither a RISC-V Linux Image (no \"RSC\\x05\" magic at 0x38)"
                    + " nor a RISC-V ELF; pass Debian's /boot/vmlinux-*-riscv64 or a riscv64 ELF with --kernel");
        }
        long textOffset = b.getLong(8);
        long imageSize = b.getLong(16);
        if (textOffset < 0 || textOffset > (1L << 30) || (textOffset & 0xfff) != 0) {
            throw new BootException("kernel " + file + " has a corrupt header (text_offset 0x" + Long.toHexString(textOffset) + ")");
        }
        if (imageSize < fileSize) imageSize = fileSize;
        long gpa = ramBaseGpa + textOffset;
        return new KernelImage(Kind.LINUX_IMAGE, file, List.of(new Segment(gpa, 0, fileSize, fileSize)), gpa, gpa + imageSize);
    }

    private static KernelImage elf(Path file, ByteBuffer b, long fileSize) throws BootException {
        try {
            if (b.get(4) != 2 || b.get(5) != 1) throw new BootException("kernel " + file + " is not a 64-bit little-endian ELF");
            if (b.getShort(18) != EM_RISCV) throw new BootException("kernel " + file + " is an ELF for another machine (e_machine "
                    + b.getShort(18) + "), not RISC-V");
            long entry = b.getLong(24);
            long phoff = b.getLong(32);
            int phentsize = b.getShort(54) & 0xffff, phnum = b.getShort(56) & 0xffff;
            List<Segment> segments = new ArrayList<>();
            long end = 0;
            for (int i = 0; i < phnum; i++) {
                int ph = Math.toIntExact(phoff + (long) i * phentsize);
                if (b.getInt(ph) != 1) continue; // PT_LOAD
                long offset = b.getLong(ph + 8), paddr = b.getLong(ph + 24);
                long filesz = b.getLong(ph + 32), memsz = b.getLong(ph + 40);
                if (offset < 0 || filesz < 0 || offset + filesz > fileSize || memsz < filesz) {
                    throw new BootException("kernel " + file + " has a corrupt program header " + i);
                }
                segments.add(new Segment(paddr, offset, filesz, memsz));
                end = Math.max(end, paddr + memsz);
            }
            if (segments.isEmpty()) throw new BootException("kernel " + file + " has no loadable segments");
            return new KernelImage(Kind.ELF, file, segments, entry, end);
        } catch (IndexOutOfBoundsException | ArithmeticException e) {
            throw new BootException("kernel " + file + " is a truncated or corrupt ELF (program headers must lie in its first "
                    + HEADER_BYTES / 1024 + " KiB)");
        }
    }
}
