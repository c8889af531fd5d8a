package dev.airlock.cpu.rv64;

/**
 * Exception causes, and the one preallocated throwable a hart uses to unwind from deep inside a
 * memory access to its trap entry. It carries no stack trace and is never seen outside the hart.
 */
public final class Trap extends RuntimeException {
    public static final int INSN_MISALIGNED = 0, INSN_ACCESS = 1, ILLEGAL_INSN = 2, BREAKPOINT = 3,
            LOAD_MISALIGNED = 4, LOAD_ACCESS = 5, STORE_MISALIGNED = 6, STORE_ACCESS = 7, ECALL_U = 8,
            ECALL_S = 9, ECALL_M = 11, INSN_PAGE_FAULT = 12, LOAD_PAGE_FAULT = 13, STORE_PAGE_FAULT = 15;

    int cause;
    long tval;

    Trap() {
        super(null, null, false, false);
    }

    Trap set(int cause, long tval) {
        this.cause = cause;
        this.tval = tval;
        return this;
    }

    public static String causeName(long mcause) {
        if (mcause < 0) {
            return switch ((int) (mcause & 0xff)) {
                case 1 -> "supervisor software interrupt"; case 3 -> "machine software interrupt";
                case 5 -> "supervisor timer interrupt"; case 7 -> "machine timer interrupt";
                case 9 -> "supervisor external interrupt"; case 11 -> "machine external interrupt";
                default -> "interrupt " + (mcause & 0xff);
            };
        }
        return switch ((int) mcause) {
            case INSN_MISALIGNED -> "instruction address misaligned"; case INSN_ACCESS -> "instruction access fault";
            case ILLEGAL_INSN -> "illegal instruction"; case BREAKPOINT -> "breakpoint";
            case LOAD_MISALIGNED -> "load address misaligned"; case LOAD_ACCESS -> "load access fault";
            case STORE_MISALIGNED -> "store address misaligned"; case STORE_ACCESS -> "store access fault";
            case ECALL_U -> "ecall from U-mode"; case ECALL_S -> "ecall from S-mode"; case ECALL_M -> "ecall from M-mode";
            case INSN_PAGE_FAULT -> "instruction page fault"; case LOAD_PAGE_FAULT -> "load page fault";
            case STORE_PAGE_FAULT -> "store page fault";
            default -> "exception " + mcause;
        };
    }
}
