package dev.airlock.cpu.rv64;

/**
 * Expands a 16-bit RVC instruction into the 32-bit instruction it stands for, so one executor
 * serves both. Returns 0 (an illegal encoding) for reserved or unsupported forms.
 */
public final class Rvc {
    private Rvc() {}

    private static final int OP_IMM = 0x13, OP_IMM_32 = 0x1B, OP = 0x33, OP_32 = 0x3B, LUI = 0x37, LOAD = 0x03,
            STORE = 0x23, LOAD_FP = 0x07, STORE_FP = 0x27, JAL = 0x6F, JALR = 0x67, BRANCH = 0x63;

    public static int expand(int c) {
        c &= 0xffff;
        int rdFull = (c >>> 7) & 31;
        int rs2Full = (c >>> 2) & 31;
        int rdp = 8 + ((c >>> 2) & 7);   // rd'/rs2' in bits 4:2
        int rs1p = 8 + ((c >>> 7) & 7);  // rs1'/rd' in bits 9:7
        int f3 = (c >>> 13) & 7;
        switch (c & 3) {
            case 0:
                switch (f3) {
                    case 0: { // C.ADDI4SPN
                        int imm = ((c >>> 7) & 0x30) | ((c >>> 1) & 0x3c0) | ((c >>> 4) & 0x4) | ((c >>> 2) & 0x8);
                        return imm == 0 ? 0 : iType(imm, 2, 0, rdp, OP_IMM);
                    }
                    case 1: return iType(ldImm(c), rs1p, 3, rdp, LOAD_FP);  // C.FLD
                    case 2: return iType(lwImm(c), rs1p, 2, rdp, LOAD);     // C.LW
                    case 3: return iType(ldImm(c), rs1p, 3, rdp, LOAD);     // C.LD
                    case 5: return sType(ldImm(c), rdp, rs1p, 3, STORE_FP); // C.FSD
                    case 6: return sType(lwImm(c), rdp, rs1p, 2, STORE);    // C.SW
                    case 7: return sType(ldImm(c), rdp, rs1p, 3, STORE);    // C.SD
                    default: return 0;
                }
            case 1:
                switch (f3) {
                    case 0: return iType(ci6(c), rdFull, 0, rdFull, OP_IMM); // C.ADDI / C.NOP
                    case 1: return rdFull == 0 ? 0 : iType(ci6(c), rdFull, 0, rdFull, OP_IMM_32); // C.ADDIW
                    case 2: return iType(ci6(c), 0, 0, rdFull, OP_IMM); // C.LI
                    case 3:
                        if (rdFull == 2) { // C.ADDI16SP
                            int imm = ((c >>> 3) & 0x200) | ((c >>> 2) & 0x10) | ((c << 1) & 0x40)
                                    | ((c << 4) & 0x180) | ((c << 3) & 0x20);
                            imm = (imm << 22) >> 22;
                            return imm == 0 ? 0 : iType(imm, 2, 0, 2, OP_IMM);
                        } else { // C.LUI
                            int imm = (ci6(c) << 12);
                            return imm == 0 ? 0 : (imm & 0xfffff000) | (rdFull << 7) | LUI;
                        }
                    case 4: {
                        int shamt = ((c >>> 7) & 0x20) | ((c >>> 2) & 0x1f);
                        switch ((c >>> 10) & 3) {
                            case 0: return iType(shamt, rs1p, 5, rs1p, OP_IMM);            // C.SRLI
                            case 1: return iType(0x400 | shamt, rs1p, 5, rs1p, OP_IMM);    // C.SRAI
                            case 2: return iType(ci6(c), rs1p, 7, rs1p, OP_IMM);           // C.ANDI
                            default: {
                                int fn = (c >>> 5) & 3;
                                if ((c & 0x1000) == 0) {
                                    switch (fn) {
                                        case 0: return rType(0x20, rdp, rs1p, 0, rs1p, OP); // C.SUB
                                        case 1: return rType(0, rdp, rs1p, 4, rs1p, OP);    // C.XOR
                                        case 2: return rType(0, rdp, rs1p, 6, rs1p, OP);    // C.OR
                                        default: return rType(0, rdp, rs1p, 7, rs1p, OP);   // C.AND
                                    }
                                }
                                switch (fn) {
                                    case 0: return rType(0x20, rdp, rs1p, 0, rs1p, OP_32); // C.SUBW
                                    case 1: return rType(0, rdp, rs1p, 0, rs1p, OP_32);    // C.ADDW
                                    default: return 0;
                                }
                            }
                        }
                    }
                    case 5: { // C.J
                        int off = ((c >>> 1) & 0x800) | ((c >>> 7) & 0x10) | ((c >>> 1) & 0x300) | ((c << 2) & 0x400)
                                | ((c >>> 1) & 0x40) | ((c << 1) & 0x80) | ((c >>> 2) & 0xe) | ((c << 3) & 0x20);
                        return jType((off << 20) >> 20, 0);
                    }
                    default: { // C.BEQZ / C.BNEZ
                        int off = ((c >>> 4) & 0x100) | ((c >>> 7) & 0x18) | ((c << 1) & 0xc0) | ((c >>> 2) & 0x6)
                                | ((c << 3) & 0x20);
                        return bType((off << 23) >> 23, 0, rs1p, f3 == 6 ? 0 : 1);
                    }
                }
            case 2:
                switch (f3) {
                    case 0: { // C.SLLI
                        int shamt = ((c >>> 7) & 0x20) | ((c >>> 2) & 0x1f);
                        return iType(shamt, rdFull, 1, rdFull, OP_IMM);
                    }
                    case 1: return iType(ldspImm(c), 2, 3, rdFull, LOAD_FP); // C.FLDSP
                    case 2: { // C.LWSP
                        int imm = ((c >>> 7) & 0x20) | ((c >>> 2) & 0x1c) | ((c << 4) & 0xc0);
                        return rdFull == 0 ? 0 : iType(imm, 2, 2, rdFull, LOAD);
                    }
                    case 3: return rdFull == 0 ? 0 : iType(ldspImm(c), 2, 3, rdFull, LOAD); // C.LDSP
                    case 4:
                        if ((c & 0x1000) == 0) {
                            if (rs2Full == 0) return rdFull == 0 ? 0 : iType(0, rdFull, 0, 0, JALR); // C.JR
                            return rType(0, rs2Full, 0, 0, rdFull, OP);                               // C.MV
                        }
                        if (rs2Full == 0) {
                            if (rdFull == 0) return 0x00100073;                                      // C.EBREAK
                            return iType(0, rdFull, 0, 1, JALR);                                     // C.JALR
                        }
                        return rType(0, rs2Full, rdFull, 0, rdFull, OP);                             // C.ADD
                    case 5: return sType(sdspImm(c), rs2Full, 2, 3, STORE_FP); // C.FSDSP
                    case 6: { // C.SWSP
                        int imm = ((c >>> 7) & 0x3c) | ((c >>> 1) & 0xc0);
                        return sType(imm, rs2Full, 2, 2, STORE);
                    }
                    default: return sType(sdspImm(c), rs2Full, 2, 3, STORE); // C.SDSP
                }
            default:
                return 0;
        }
    }

    private static int ci6(int c) { // sign-extended imm[5] = bit 12, imm[4:0] = bits 6:2
        int imm = ((c >>> 7) & 0x20) | ((c >>> 2) & 0x1f);
        return (imm << 26) >> 26;
    }

    private static int lwImm(int c) { return ((c >>> 7) & 0x38) | ((c >>> 4) & 0x4) | ((c << 1) & 0x40); }

    private static int ldImm(int c) { return ((c >>> 7) & 0x38) | ((c << 1) & 0xc0); }

    private static int ldspImm(int c) { return ((c >>> 7) & 0x20) | ((c >>> 2) & 0x18) | ((c << 4) & 0x1c0); }

    private static int sdspImm(int c) { return ((c >>> 7) & 0x38) | ((c >>> 1) & 0x1c0); }

    static int iType(int imm, int rs1, int f3, int rd, int op) {
        return (imm << 20) | (rs1 << 15) | (f3 << 12) | (rd << 7) | op;
    }

    static int sType(int imm, int rs2, int rs1, int f3, int op) {
        return ((imm >> 5) << 25) | (rs2 << 20) | (rs1 << 15) | (f3 << 12) | ((imm & 0x1f) << 7) | op;
    }

    static int rType(int f7, int rs2, int rs1, int f3, int rd, int op) {
        return (f7 << 25) | (rs2 << 20) | (rs1 << 15) | (f3 << 12) | (rd << 7) | op;
    }

    static int bType(int imm, int rs2, int rs1, int f3) {
        return (((imm >> 12) & 1) << 31) | (((imm >> 5) & 0x3f) << 25) | (rs2 << 20) | (rs1 << 15) | (f3 << 12)
                | (((imm >> 1) & 0xf) << 8) | (((imm >> 11) & 1) << 7) | BRANCH;
    }

    static int jType(int imm, int rd) {
        return (((imm >> 20) & 1) << 31) | (((imm >> 1) & 0x3ff) << 21) | (((imm >> 11) & 1) << 20)
                | (((imm >> 12) & 0xff) << 12) | (rd << 7) | JAL;
    }
}
