package dev.airlock.sys;

/**
 * The layout of {@code /proc/<pid>/pagemap}: one native-endian 64-bit entry per host-virtual page, the
 * entry for {@code hva} at file offset {@code (hva / pageSize) * 8} (Linux's
 * Documentation/admin-guide/mm/pagemap.rst and proc_pid_pagemap(5)).
 *
 * <pre>
 *  63  62  61  60 59  58  57  56  55  54                                  0
 * +---+---+---+-----+---+---+---+---+-------------------------------------+
 * | P | S | F |  0  | G | U | X | D | PFN if P; swap type/offset if S     |
 * +---+---+---+-----+---+---+---+---+-------------------------------------+
 *   P present in RAM            S swapped            F file page or shared anonymous
 *   G guard region (6.15+)      U userfaultfd-tracked X mapped exactly once (4.2+)
 *   D soft-dirty
 * </pre>
 *
 * Without CAP_SYS_ADMIN the kernel reports bits 0-54 as zero; the flag bits stay. A private
 * copy made by writing to a MAP_PRIVATE file mapping is anonymous here (F clear). The shared
 * zero page is present, anonymous and not exclusive, with the zero page's PFN.
 */
public final class PageMapEntry {
    public static final int BYTES = Long.BYTES;

    public static final int SOFT_DIRTY_BIT = 55, EXCLUSIVE_BIT = 56, UFFD_WP_BIT = 57, GUARD_BIT = 58,
            FILE_BIT = 61, SWAPPED_BIT = 62, PRESENT_BIT = 63;
    public static final int PFN_BITS = 55;
    public static final long PFN_MASK = (1L << PFN_BITS) - 1;
    public static final long SOFT_DIRTY = 1L << SOFT_DIRTY_BIT, EXCLUSIVE = 1L << EXCLUSIVE_BIT,
            UFFD_WP = 1L << UFFD_WP_BIT, GUARD = 1L << GUARD_BIT, FILE = 1L << FILE_BIT,
            SWAPPED = 1L << SWAPPED_BIT, PRESENT = 1L << PRESENT_BIT;
    /** When swapped: bits 0-4 are the swap file's index, bits 5-54 the page's offset in it. */
    public static final int SWAP_TYPE_BITS = 5;

    private PageMapEntry() {}

    /** Byte offset in the pagemap file of the entry for the page holding {@code hva}. */
    public static long fileOffset(long hva, int pageSizeBytes) {
        return Long.divideUnsigned(hva, pageSizeBytes) * BYTES;
    }

    public static boolean present(long entry) { return entry < 0; }

    public static boolean swapped(long entry) { return (entry & SWAPPED) != 0; }

    /** A page-cache page of a file or of shared memory (shmem, memfd), rather than private anonymous memory. */
    public static boolean fileOrSharedAnon(long entry) { return (entry & FILE) != 0; }

    /** The page is mapped exactly once in the whole host. */
    public static boolean exclusive(long entry) { return (entry & EXCLUSIVE) != 0; }

    public static boolean softDirty(long entry) { return (entry & SOFT_DIRTY) != 0; }

    public static boolean guard(long entry) { return (entry & GUARD) != 0; }

    /** The host frame number of a present page; 0 when the reader may not see PFNs. */
    public static long pfn(long entry) { return present(entry) ? entry & PFN_MASK : 0; }

    /** A short text form such as {@code present|anon|excl pfn=0x1234}, for messages and tests. */
    public static String describe(long entry) {
        StringBuilder s = new StringBuilder();
        if (present(entry)) s.append("present");
        else if (swapped(entry)) s.append("swapped");
        else s.append("not-present");
        if (present(entry) || swapped(entry)) s.append(fileOrSharedAnon(entry) ? "|file" : "|anon");
        if (exclusive(entry)) s.append("|excl");
        if (softDirty(entry)) s.append("|soft-dirty");
        if ((entry & UFFD_WP) != 0) s.append("|uffd");
        if (guard(entry)) s.append("|guard");
        if (present(entry)) s.append(" pfn=0x").append(Long.toHexString(pfn(entry)));
        return s.toString();
    }
}
