package dev.airlock.cpu.rv64;

/** CSR numbers and the bit fields of the status and interrupt registers (privileged spec 1.12). */
public final class Csr {
    private Csr() {}

    // Floating point.
    public static final int FFLAGS = 0x001, FRM = 0x002, FCSR = 0x003;
    // Counters (user view).
    public static final int CYCLE = 0xC00, TIME = 0xC01, INSTRET = 0xC02;
    // Supervisor.
    public static final int SSTATUS = 0x100, SIE = 0x104, STVEC = 0x105, SCOUNTEREN = 0x106, SENVCFG = 0x10A,
            SSCRATCH = 0x140, SEPC = 0x141, SCAUSE = 0x142, STVAL = 0x143, SIP = 0x144, STIMECMP = 0x14D,
            SATP = 0x180;
    // Machine.
    public static final int MVENDORID = 0xF11, MARCHID = 0xF12, MIMPID = 0xF13, MHARTID = 0xF14, MCONFIGPTR = 0xF15,
            MSTATUS = 0x300, MISA = 0x301, MEDELEG = 0x302, MIDELEG = 0x303, MIE = 0x304, MTVEC = 0x305,
            MCOUNTEREN = 0x306, MENVCFG = 0x30A, MCOUNTINHIBIT = 0x320, MSCRATCH = 0x340, MEPC = 0x341,
            MCAUSE = 0x342, MTVAL = 0x343, MIP = 0x344, MCYCLE = 0xB00, MINSTRET = 0xB02;
    public static final int PMPCFG0 = 0x3A0, PMPADDR0 = 0x3B0, TSELECT = 0x7A0, TDATA1 = 0x7A1;

    // mstatus fields.
    public static final long MSTATUS_SIE = 1L << 1, MSTATUS_MIE = 1L << 3, MSTATUS_SPIE = 1L << 5,
            MSTATUS_MPIE = 1L << 7, MSTATUS_SPP = 1L << 8, MSTATUS_MPP = 3L << 11, MSTATUS_FS = 3L << 13,
            MSTATUS_MPRV = 1L << 17, MSTATUS_SUM = 1L << 18, MSTATUS_MXR = 1L << 19, MSTATUS_TVM = 1L << 20,
            MSTATUS_TW = 1L << 21, MSTATUS_TSR = 1L << 22, MSTATUS_UXL = 3L << 32, MSTATUS_SXL = 3L << 34,
            MSTATUS_SD = 1L << 63;
    public static final int MSTATUS_MPP_SHIFT = 11, MSTATUS_FS_SHIFT = 13;
    /** The mstatus bits sstatus shows. */
    public static final long SSTATUS_MASK = MSTATUS_SIE | MSTATUS_SPIE | MSTATUS_SPP | MSTATUS_FS | MSTATUS_SUM
            | MSTATUS_MXR | MSTATUS_UXL | MSTATUS_SD;
    /** The mstatus bits software may write (UXL/SXL are fixed at 64-bit, SD is derived). */
    public static final long MSTATUS_WRITABLE = MSTATUS_SIE | MSTATUS_MIE | MSTATUS_SPIE | MSTATUS_MPIE | MSTATUS_SPP
            | MSTATUS_MPP | MSTATUS_FS | MSTATUS_MPRV | MSTATUS_SUM | MSTATUS_MXR | MSTATUS_TVM | MSTATUS_TW
            | MSTATUS_TSR;

    // Interrupt bits in mip/mie and cause codes.
    public static final int IRQ_S_SOFT = 1, IRQ_M_SOFT = 3, IRQ_S_TIMER = 5, IRQ_M_TIMER = 7, IRQ_S_EXT = 9,
            IRQ_M_EXT = 11;
    public static final long MIP_SSIP = 1L << IRQ_S_SOFT, MIP_MSIP = 1L << IRQ_M_SOFT, MIP_STIP = 1L << IRQ_S_TIMER,
            MIP_MTIP = 1L << IRQ_M_TIMER, MIP_SEIP = 1L << IRQ_S_EXT, MIP_MEIP = 1L << IRQ_M_EXT;
    public static final long S_INTERRUPTS = MIP_SSIP | MIP_STIP | MIP_SEIP;
    public static final long M_INTERRUPTS = MIP_MSIP | MIP_MTIP | MIP_MEIP;

    // menvcfg.STCE enables Sstc's stimecmp for S-mode.
    public static final long MENVCFG_STCE = 1L << 63;

    public static final long MISA_RV64GC = (2L << 62) | bit('A') | bit('C') | bit('D') | bit('F') | bit('I')
            | bit('M') | bit('S') | bit('U');

    private static long bit(char extension) {
        return 1L << (extension - 'A');
    }
}
