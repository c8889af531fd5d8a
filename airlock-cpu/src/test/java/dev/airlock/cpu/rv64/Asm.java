package dev.airlock.cpu.rv64;

/** A tiny RV64 encoder for tests: enough to write instruction-level cases without a toolchain. */
final class Asm {
    private Asm() {}

    static int r(int f7, int rs2, int rs1, int f3, int rd, int op) { return Rvc.rType(f7, rs2, rs1, f3, rd, op); }
    static int i(int imm, int rs1, int f3, int rd, int op) { return Rvc.iType(imm & 0xfff, rs1, f3, rd, op); }
    static int s(int imm, int rs2, int rs1, int f3, int op) { return Rvc.sType(imm, rs2, rs1, f3, op); }
    static int b(int imm, int rs2, int rs1, int f3) { return Rvc.bType(imm, rs2, rs1, f3); }

    static int lui(int rd, int imm20) { return (imm20 << 12) | (rd << 7) | 0x37; }
    static int auipc(int rd, int imm20) { return (imm20 << 12) | (rd << 7) | 0x17; }
    static int jal(int rd, int off) { return Rvc.jType(off, rd); }
    static int jalr(int rd, int rs1, int imm) { return i(imm, rs1, 0, rd, 0x67); }
    static int addi(int rd, int rs1, int imm) { return i(imm, rs1, 0, rd, 0x13); }
    static int addiw(int rd, int rs1, int imm) { return i(imm, rs1, 0, rd, 0x1b); }
    static int slli(int rd, int rs1, int sh) { return i(sh, rs1, 1, rd, 0x13); }
    static int srli(int rd, int rs1, int sh) { return i(sh, rs1, 5, rd, 0x13); }
    static int srai(int rd, int rs1, int sh) { return i(0x400 | sh, rs1, 5, rd, 0x13); }
    static int add(int rd, int rs1, int rs2) { return r(0, rs2, rs1, 0, rd, 0x33); }
    static int sub(int rd, int rs1, int rs2) { return r(0x20, rs2, rs1, 0, rd, 0x33); }
    static int mul(int rd, int rs1, int rs2) { return r(1, rs2, rs1, 0, rd, 0x33); }
    static int mulDiv(int f3, int rd, int rs1, int rs2) { return r(1, rs2, rs1, f3, rd, 0x33); }
    static int mulDivW(int f3, int rd, int rs1, int rs2) { return r(1, rs2, rs1, f3, rd, 0x3b); }
    static int ld(int rd, int rs1, int imm) { return i(imm, rs1, 3, rd, 0x03); }
    static int lw(int rd, int rs1, int imm) { return i(imm, rs1, 2, rd, 0x03); }
    static int lbu(int rd, int rs1, int imm) { return i(imm, rs1, 4, rd, 0x03); }
    static int sd(int rs2, int rs1, int imm) { return s(imm, rs2, rs1, 3, 0x23); }
    static int sw(int rs2, int rs1, int imm) { return s(imm, rs2, rs1, 2, 0x23); }
    static int sb(int rs2, int rs1, int imm) { return s(imm, rs2, rs1, 0, 0x23); }
    static int beq(int rs1, int rs2, int off) { return b(off, rs2, rs1, 0); }
    static int bne(int rs1, int rs2, int off) { return b(off, rs2, rs1, 1); }
    static int blt(int rs1, int rs2, int off) { return b(off, rs2, rs1, 4); }
    static int bltu(int rs1, int rs2, int off) { return b(off, rs2, rs1, 6); }
    static int csrrw(int rd, int csr, int rs1) { return i(csr, rs1, 1, rd, 0x73); }
    static int csrrs(int rd, int csr, int rs1) { return i(csr, rs1, 2, rd, 0x73); }
    static int csrrc(int rd, int csr, int rs1) { return i(csr, rs1, 3, rd, 0x73); }
    static int csrrwi(int rd, int csr, int uimm) { return i(csr, uimm, 5, rd, 0x73); }
    static int amo(int funct5, boolean dword, int rd, int rs1, int rs2) {
        return r(funct5 << 2, rs2, rs1, dword ? 3 : 2, rd, 0x2f);
    }
    static final int ECALL = 0x73, EBREAK = 0x00100073, MRET = 0x30200073, SRET = 0x10200073, WFI = 0x10500073;
    static int sfenceVma(int rs1, int rs2) { return r(0x09, rs2, rs1, 0, 0, 0x73); }
}
