/*
 * The F and D extensions: arithmetic under every rounding mode, fused multiply-add, square root,
 * conversions, comparisons, min/max, sign injection and fclass, each result hashed together with the
 * fflags it raised. The guest runs the instructions; the host build is the reference model (IEEE 754
 * arithmetic from the host FPU, plus RISC-V's own rules written out where x86 differs: canonical NaNs,
 * saturating conversions, min/max and comparison semantics).
 */
#include "airlock.h"
#ifdef AIRLOCK_HOST
#include <fenv.h>
#include <math.h>
#endif

enum { RNE = 0, RTZ = 1, RDN = 2, RUP = 3, RMM = 4 };
static const char *const RM_NAME[] = {"rne", "rtz", "rdn", "rup", "rmm"};
enum { NX = 1, UF = 2, OF = 4, DZ = 8, NV = 16 };

#define CANON_D 0x7ff8000000000000ull
#define CANON_S 0x7fc00000u

static uint64_t bits_d(double d) { uint64_t u; __builtin_memcpy(&u, &d, 8); return u; }
static double from_bits_d(uint64_t u) { double d; __builtin_memcpy(&d, &u, 8); return d; }
static uint32_t bits_s(float f) { uint32_t u; __builtin_memcpy(&u, &f, 4); return u; }
static float from_bits_s(uint32_t u) { float f; __builtin_memcpy(&f, &u, 4); return f; }
static int is_nan_d(double d) { return (bits_d(d) & 0x7fffffffffffffffull) > 0x7ff0000000000000ull; }
static int is_nan_s(float f) { return (bits_s(f) & 0x7fffffffu) > 0x7f800000u; }
static int is_snan_d(double d) { return is_nan_d(d) && !(bits_d(d) & 0x0008000000000000ull); }
static int is_snan_s(float f) { return is_nan_s(f) && !(bits_s(f) & 0x00400000u); }

/* ------------------------------------------------------------------ the platform: flags, rounding, instructions */

#ifdef AIRLOCK_HOST
static void clear_flags(void) { feclearexcept(FE_ALL_EXCEPT); }
static unsigned read_flags(void) {
    int e = fetestexcept(FE_ALL_EXCEPT);
    return (e & FE_INVALID ? NV : 0) | (e & FE_DIVBYZERO ? DZ : 0) | (e & FE_OVERFLOW ? OF : 0)
           | (e & FE_UNDERFLOW ? UF : 0) | (e & FE_INEXACT ? NX : 0);
}
static void raise_flags(unsigned f) {
    feraiseexcept((f & NV ? FE_INVALID : 0) | (f & DZ ? FE_DIVBYZERO : 0) | (f & OF ? FE_OVERFLOW : 0)
                  | (f & UF ? FE_UNDERFLOW : 0) | (f & NX ? FE_INEXACT : 0));
}
static void set_rm(int rm) {
    static const int MODES[] = {FE_TONEAREST, FE_TOWARDZERO, FE_DOWNWARD, FE_UPWARD};
    fesetround(MODES[rm]); /* x86 has no RMM: only the conversions below, emulated, use it */
}
/* RISC-V produces the canonical NaN where x86 produces its own default NaN or propagates a payload. */
static double canon_d(double d) { return is_nan_d(d) ? from_bits_d(CANON_D) : d; }
static float canon_s(float f) { return is_nan_s(f) ? from_bits_s(CANON_S) : f; }
static double fma_d(double a, double b, double c) { return fma(a, b, c); }
static float fma_s(float a, float b, float c) { return fmaf(a, b, c); }
static double sqrt_d(double a) { return sqrt(a); }
static float sqrt_s(float a) { return sqrtf(a); }

/* Round a finite value to an integer in mode rm without touching the flags. */
static double round_to_int(double x, int rm) {
    fexcept_t saved;
    fegetexceptflag(&saved, FE_ALL_EXCEPT);
    double r;
    if (x == 2 * x && x != 0) return x; /* infinities: already "integers", and out of every range */
    switch (rm) {
    case RNE: r = x - remainder(x, 1.0); break; /* remainder() rounds the quotient to even */
    case RTZ: r = trunc(x); break;
    case RDN: r = floor(x); break;
    case RUP: r = ceil(x); break;
    default: r = round(x); break; /* ties away from zero */
    }
    if (r == 0) r = 0 * x; /* keep the sign of zero, though it never shows in an integer */
    fesetexceptflag(&saved, FE_ALL_EXCEPT);
    return r;
}

/* fcvt.{w,wu,l,lu}.{d,s}: RISC-V saturates, sends NaN to the largest value, and raises only NV when it does. */
static uint64_t fcvt_int(double x, int rm, int is_unsigned, int bits) {
    double lo, hi; /* the representable range, as doubles (exact for 32-bit; 2^63, 2^64 bounds for 64-bit) */
    uint64_t min_v, max_v;
    if (bits == 32) {
        lo = is_unsigned ? 0.0 : -2147483648.0;
        hi = is_unsigned ? 4294967295.0 : 2147483647.0;
        min_v = is_unsigned ? 0 : (uint64_t)(int64_t)INT32_MIN;
        max_v = is_unsigned ? ~0ull /* 0xffffffff sign-extended */ : 0x7fffffff;
    } else {
        lo = is_unsigned ? 0.0 : -9223372036854775808.0;
        hi = is_unsigned ? 18446744073709551616.0 : 9223372036854775808.0; /* exclusive */
        min_v = is_unsigned ? 0 : 0x8000000000000000ull;
        max_v = is_unsigned ? ~0ull : 0x7fffffffffffffffull;
    }
    if (x != x) { raise_flags(NV); return max_v; }
    double r = round_to_int(x, rm);
    if (r < lo) { raise_flags(NV); return min_v; }
    if (bits == 32 ? r > hi : r >= hi) { raise_flags(NV); return max_v; }
    if (r != x) raise_flags(NX);
    if (bits == 32) return is_unsigned ? (uint64_t)(int64_t)(int32_t)(uint32_t)r : (uint64_t)(int64_t)(int32_t)r;
    return is_unsigned ? (uint64_t)r : (uint64_t)(int64_t)r;
}
#define FCVT_D(name, insn, rm, u, b) static uint64_t name(double x) { return fcvt_int(x, rm, u, b); }
#define FCVT_S(name, insn, rm, u, b) static uint64_t name(float x) { return fcvt_int((double)x, rm, u, b); }

static double fmin_d(double a, double b) {
    if (is_snan_d(a) || is_snan_d(b)) raise_flags(NV);
    if (is_nan_d(a) && is_nan_d(b)) return from_bits_d(CANON_D);
    if (is_nan_d(a)) return b;
    if (is_nan_d(b)) return a;
    if (a == 0 && b == 0) return bits_d(a) >> 63 ? a : b;
    return a < b ? a : b;
}
static double fmax_d(double a, double b) {
    if (is_snan_d(a) || is_snan_d(b)) raise_flags(NV);
    if (is_nan_d(a) && is_nan_d(b)) return from_bits_d(CANON_D);
    if (is_nan_d(a)) return b;
    if (is_nan_d(b)) return a;
    if (a == 0 && b == 0) return bits_d(a) >> 63 ? b : a;
    return a > b ? a : b;
}
static float fmin_s(float a, float b) {
    if (is_snan_s(a) || is_snan_s(b)) raise_flags(NV);
    if (is_nan_s(a) && is_nan_s(b)) return from_bits_s(CANON_S);
    if (is_nan_s(a)) return b;
    if (is_nan_s(b)) return a;
    if (a == 0 && b == 0) return bits_s(a) >> 31 ? a : b;
    return a < b ? a : b;
}
static float fmax_s(float a, float b) {
    if (is_snan_s(a) || is_snan_s(b)) raise_flags(NV);
    if (is_nan_s(a) && is_nan_s(b)) return from_bits_s(CANON_S);
    if (is_nan_s(a)) return b;
    if (is_nan_s(b)) return a;
    if (a == 0 && b == 0) return bits_s(a) >> 31 ? b : a;
    return a > b ? a : b;
}
/* feq is quiet (NV only for signalling NaNs); flt and fle signal on any NaN. */
static uint64_t feq_d(double a, double b) { if (is_snan_d(a) || is_snan_d(b)) raise_flags(NV); return !is_nan_d(a) && !is_nan_d(b) && a == b; }
static uint64_t flt_d(double a, double b) { if (is_nan_d(a) || is_nan_d(b)) { raise_flags(NV); return 0; } return a < b; }
static uint64_t fle_d(double a, double b) { if (is_nan_d(a) || is_nan_d(b)) { raise_flags(NV); return 0; } return a <= b; }
static uint64_t feq_s(float a, float b) { if (is_snan_s(a) || is_snan_s(b)) raise_flags(NV); return !is_nan_s(a) && !is_nan_s(b) && a == b; }
static uint64_t flt_s(float a, float b) { if (is_nan_s(a) || is_nan_s(b)) { raise_flags(NV); return 0; } return a < b; }
static uint64_t fle_s(float a, float b) { if (is_nan_s(a) || is_nan_s(b)) { raise_flags(NV); return 0; } return a <= b; }
static double fsgnj_d(double a, double b) { return from_bits_d((bits_d(a) & ~(1ull << 63)) | (bits_d(b) & (1ull << 63))); }
static double fsgnjn_d(double a, double b) { return from_bits_d((bits_d(a) & ~(1ull << 63)) | (~bits_d(b) & (1ull << 63))); }
static double fsgnjx_d(double a, double b) { return from_bits_d(bits_d(a) ^ (bits_d(b) & (1ull << 63))); }
static float fsgnj_s(float a, float b) { return from_bits_s((bits_s(a) & ~(1u << 31)) | (bits_s(b) & (1u << 31))); }
static float fsgnjn_s(float a, float b) { return from_bits_s((bits_s(a) & ~(1u << 31)) | (~bits_s(b) & (1u << 31))); }
static float fsgnjx_s(float a, float b) { return from_bits_s(bits_s(a) ^ (bits_s(b) & (1u << 31))); }

static uint64_t fclass_bits(uint64_t sign, uint64_t exp, uint64_t exp_max, uint64_t frac, uint64_t quiet_bit) {
    if (exp == exp_max) {
        if (frac == 0) return sign ? 1 << 0 : 1 << 7;
        return frac & quiet_bit ? 1 << 9 : 1 << 8;
    }
    if (exp == 0) {
        if (frac == 0) return sign ? 1 << 3 : 1 << 4;
        return sign ? 1 << 2 : 1 << 5;
    }
    return sign ? 1 << 1 : 1 << 6;
}
static uint64_t fclass_d(double a) { uint64_t u = bits_d(a); return fclass_bits(u >> 63, (u >> 52) & 0x7ff, 0x7ff, u & 0xfffffffffffffull, 1ull << 51); }
static uint64_t fclass_s(float a) { uint32_t u = bits_s(a); return fclass_bits(u >> 31, (u >> 23) & 0xff, 0xff, u & 0x7fffff, 1u << 22); }

/* What the guest-only checks below read on RISC-V, written out. */
static uint64_t unboxed_single_is_nan(void) { return CANON_S; }
static uint64_t fmv_x_w_neg_one(void) { return 0xffffffffbf800000ull; }
static uint64_t fcvt_s_d_boxes(void) { return 0xffffffff3f800000ull; }

#else /* the guest: the instructions themselves */

static void clear_flags(void) { __asm__ volatile("csrw fflags, zero" ::: "memory"); }
static unsigned read_flags(void) { unsigned f; __asm__ volatile("frflags %0" : "=r"(f) :: "memory"); return f; }
static void set_rm(int rm) { __asm__ volatile("fsrm %0" :: "r"(rm) : "memory"); }
static double canon_d(double d) { return d; } /* the guest must produce canonical NaNs itself */
static float canon_s(float f) { return f; }
static double fma_d(double a, double b, double c) { return __builtin_fma(a, b, c); }
static float fma_s(float a, float b, float c) { return __builtin_fmaf(a, b, c); }
static double sqrt_d(double a) { return __builtin_sqrt(a); }
static float sqrt_s(float a) { return __builtin_sqrtf(a); }

#define FCVT_D(name, insn, rm, u, b) static uint64_t name(double x) { uint64_t r; __asm__ volatile(insn " %0, %1, " RM_##rm : "=r"(r) : "f"(x)); return r; }
#define FCVT_S(name, insn, rm, u, b) static uint64_t name(float x) { uint64_t r; __asm__ volatile(insn " %0, %1, " RM_##rm : "=r"(r) : "f"(x)); return r; }
#define RM_RNE "rne"
#define RM_RTZ "rtz"
#define RM_RDN "rdn"
#define RM_RUP "rup"
#define RM_RMM "rmm"

#define FBIN(name, insn, T) static T name(T a, T b) { T r; __asm__ volatile(insn " %0, %1, %2" : "=f"(r) : "f"(a), "f"(b)); return r; }
#define FCMP(name, insn, T) static uint64_t name(T a, T b) { uint64_t r; __asm__ volatile(insn " %0, %1, %2" : "=r"(r) : "f"(a), "f"(b)); return r; }
FBIN(fmin_d, "fmin.d", double)
FBIN(fmax_d, "fmax.d", double)
FBIN(fmin_s, "fmin.s", float)
FBIN(fmax_s, "fmax.s", float)
FBIN(fsgnj_d, "fsgnj.d", double)
FBIN(fsgnjn_d, "fsgnjn.d", double)
FBIN(fsgnjx_d, "fsgnjx.d", double)
FBIN(fsgnj_s, "fsgnj.s", float)
FBIN(fsgnjn_s, "fsgnjn.s", float)
FBIN(fsgnjx_s, "fsgnjx.s", float)
FCMP(feq_d, "feq.d", double)
FCMP(flt_d, "flt.d", double)
FCMP(fle_d, "fle.d", double)
FCMP(feq_s, "feq.s", float)
FCMP(flt_s, "flt.s", float)
FCMP(fle_s, "fle.s", float)
static uint64_t fclass_d(double a) { uint64_t r; __asm__ volatile("fclass.d %0, %1" : "=r"(r) : "f"(a)); return r; }
static uint64_t fclass_s(float a) { uint64_t r; __asm__ volatile("fclass.s %0, %1" : "=r"(r) : "f"(a)); return r; }

/* A single in an FP register must be NaN-boxed (upper 32 bits all ones); anything else reads as the canonical NaN. */
static uint64_t unboxed_single_is_nan(void) {
    uint64_t r;
    __asm__ volatile("fmv.d.x ft0, %1\n fadd.s ft1, ft0, ft0\n fmv.x.w %0, ft1" : "=r"(r) : "r"(0x000000003f800000ull) : "ft0", "ft1");
    return r & 0xffffffffu;
}
/* fmv.x.w sign-extends the single's 32 bits. */
static uint64_t fmv_x_w_neg_one(void) {
    uint64_t r;
    __asm__ volatile("fmv.w.x ft0, %1\n fmv.x.w %0, ft0" : "=r"(r) : "r"(0xbf800000u) : "ft0");
    return r;
}
/* A single result written to an FP register is NaN-boxed: all 64 bits, read with fmv.x.d. */
static uint64_t fcvt_s_d_boxes(void) {
    uint64_t r;
    __asm__ volatile("fcvt.s.d ft0, %1\n fmv.x.d %0, ft0" : "=r"(r) : "f"(1.0) : "ft0");
    return r;
}
#endif

FCVT_D(fcvt_w_d_rne, "fcvt.w.d", RNE, 0, 32) FCVT_D(fcvt_w_d_rtz, "fcvt.w.d", RTZ, 0, 32) FCVT_D(fcvt_w_d_rdn, "fcvt.w.d", RDN, 0, 32)
FCVT_D(fcvt_w_d_rup, "fcvt.w.d", RUP, 0, 32) FCVT_D(fcvt_w_d_rmm, "fcvt.w.d", RMM, 0, 32)
FCVT_D(fcvt_wu_d_rne, "fcvt.wu.d", RNE, 1, 32) FCVT_D(fcvt_wu_d_rtz, "fcvt.wu.d", RTZ, 1, 32) FCVT_D(fcvt_wu_d_rmm, "fcvt.wu.d", RMM, 1, 32)
FCVT_D(fcvt_l_d_rne, "fcvt.l.d", RNE, 0, 64) FCVT_D(fcvt_l_d_rtz, "fcvt.l.d", RTZ, 0, 64) FCVT_D(fcvt_l_d_rdn, "fcvt.l.d", RDN, 0, 64)
FCVT_D(fcvt_l_d_rup, "fcvt.l.d", RUP, 0, 64) FCVT_D(fcvt_l_d_rmm, "fcvt.l.d", RMM, 0, 64)
FCVT_D(fcvt_lu_d_rne, "fcvt.lu.d", RNE, 1, 64) FCVT_D(fcvt_lu_d_rtz, "fcvt.lu.d", RTZ, 1, 64)
FCVT_S(fcvt_w_s_rne, "fcvt.w.s", RNE, 0, 32) FCVT_S(fcvt_w_s_rtz, "fcvt.w.s", RTZ, 0, 32) FCVT_S(fcvt_w_s_rmm, "fcvt.w.s", RMM, 0, 32)
FCVT_S(fcvt_wu_s_rtz, "fcvt.wu.s", RTZ, 1, 32) FCVT_S(fcvt_l_s_rdn, "fcvt.l.s", RDN, 0, 64) FCVT_S(fcvt_lu_s_rup, "fcvt.lu.s", RUP, 1, 64)

/* ------------------------------------------------------------------ inputs and hashing */

static const uint64_t D_INPUTS[] = {
    0x0000000000000000ull, 0x8000000000000000ull, /* +0, -0 */
    0x3ff0000000000000ull, 0xbff0000000000000ull, /* 1, -1 */
    0x3ff8000000000000ull, 0xc004000000000000ull, /* 1.5, -2.5 */
    0x3fe0000000000000ull, 0x4008000000000000ull, /* 0.5, 3 */
    0x3fb999999999999aull, 0x3fd5555555555555ull, /* 0.1, 1/3 */
    0x4340000000000001ull, 0x43e0000000000000ull, /* 2^53+2, 2^63 */
    0xc3e0000000000000ull, 0x41dfffffffc00000ull, /* -2^63, 2^31-1 */
    0x7fefffffffffffffull, 0xffefffffffffffffull, /* +-max */
    0x0010000000000000ull, 0x000fffffffffffffull, /* min normal, max subnormal */
    0x0000000000000001ull, 0x800000000000000full, /* smallest subnormals */
    0x7ff0000000000000ull, 0xfff0000000000000ull, /* +-inf */
    0x7ff8000000000000ull, 0x7ff0000000000001ull, /* canonical qNaN, sNaN */
    0xfff8000000000123ull, 0x4415af1d78b58c40ull, /* qNaN with payload and sign, 1e20 */
};
#define N_D ((int)(sizeof D_INPUTS / sizeof D_INPUTS[0]))

static const uint32_t S_INPUTS[] = {
    0x00000000u, 0x80000000u, 0x3f800000u, 0xbf800000u, 0x3fc00000u, 0xc0200000u, 0x3f000000u, 0x40400000u,
    0x3dcccccdu, 0x3eaaaaabu, 0x4b800001u, 0x5f000000u, 0xdf000000u, 0x4f000000u, 0x7f7fffffu, 0xff7fffffu,
    0x00800000u, 0x007fffffu, 0x00000001u, 0x8000000fu, 0x7f800000u, 0xff800000u, 0x7fc00000u, 0x7f800001u,
    0xffc00123u, 0x60ad78ecu,
};
#define N_S ((int)(sizeof S_INPUTS / sizeof S_INPUTS[0]))

/* A word at a time (cheaper than integer.c's byte-wise FNV: this program hashes ~100k results, at -O0 too). */
static uint64_t hash;
static void mix(uint64_t v) {
    hash = (hash ^ v) * 0x9e3779b97f4a7c15ull;
    hash ^= hash >> 29;
}
static void start_line(void) { hash = 0xcbf29ce484222325ull; }
static void end_line(const char *what, const char *rm) { con_printf("%-10s %s %016lx\n", what, rm, hash); }

/* Operands go through volatiles, so the compiler can neither fold an operation nor move it across the flag reads. */
static volatile double vd_a, vd_b, vd_c, vd_r;
static volatile float vs_a, vs_b, vs_c, vs_r;
static volatile uint64_t vi_r;

enum { ADD, SUB, MUL, DIV, SQRT, FMADD, FMSUB, FNMADD, FNMSUB, CVT_SD, CVT_DS, N_ARITH };
static const char *const ARITH_NAME[] = {"add", "sub", "mul", "div", "sqrt", "fmadd", "fmsub", "fnmadd", "fnmsub", "fcvt.s.d", "fcvt.d.s"};

static void arith_d(int op, int rm) {
    set_rm(rm);
    start_line();
    int n3 = op >= FMADD && op <= FNMSUB ? 12 : 1; /* fused ops: a 12-input cube */
    int n2 = op == SQRT || op == CVT_SD ? 1 : (op >= FMADD && op <= FNMSUB ? 12 : N_D);
    int n1 = op >= FMADD && op <= FNMSUB ? 12 : N_D;
    for (int i = 0; i < n1; i++) {
        for (int j = 0; j < n2; j++) {
            for (int k = 0; k < n3; k++) {
                vd_a = from_bits_d(D_INPUTS[i]);
                vd_b = from_bits_d(D_INPUTS[(j * 5 + 3 * (op >= FMADD)) % N_D]);
                vd_c = from_bits_d(D_INPUTS[(k * 7 + 1) % N_D]);
                clear_flags();
                double a = vd_a, b = vd_b, c = vd_c;
                switch (op) {
                case ADD: vd_r = canon_d(a + b); break;
                case SUB: vd_r = canon_d(a - b); break;
                case MUL: vd_r = canon_d(a * b); break;
                case DIV: vd_r = canon_d(a / b); break;
                case SQRT: vd_r = canon_d(sqrt_d(a)); break;
                case FMADD: vd_r = canon_d(fma_d(a, b, c)); break;
                case FMSUB: vd_r = canon_d(fma_d(a, b, -c)); break;
                case FNMADD: vd_r = canon_d(fma_d(-a, b, -c)); break; /* -(a*b)-c, rounded once */
                case FNMSUB: vd_r = canon_d(fma_d(-a, b, c)); break;
                case CVT_SD: vs_r = canon_s((float)a); break;
                }
                mix(op == CVT_SD ? bits_s(vs_r) : bits_d(vd_r));
                mix(read_flags());
            }
        }
    }
    end_line(ARITH_NAME[op], RM_NAME[rm]);
}

static void arith_s(int op, int rm) {
    set_rm(rm);
    start_line();
    int fused = op >= FMADD && op <= FNMSUB;
    int n1 = fused ? 12 : N_S, n2 = op == SQRT || op == CVT_DS ? 1 : (fused ? 12 : N_S), n3 = fused ? 12 : 1;
    for (int i = 0; i < n1; i++) {
        for (int j = 0; j < n2; j++) {
            for (int k = 0; k < n3; k++) {
                vs_a = from_bits_s(S_INPUTS[i]);
                vs_b = from_bits_s(S_INPUTS[(j * 5 + 3 * fused) % N_S]);
                vs_c = from_bits_s(S_INPUTS[(k * 7 + 1) % N_S]);
                clear_flags();
                float a = vs_a, b = vs_b, c = vs_c;
                switch (op) {
                case ADD: vs_r = canon_s(a + b); break;
                case SUB: vs_r = canon_s(a - b); break;
                case MUL: vs_r = canon_s(a * b); break;
                case DIV: vs_r = canon_s(a / b); break;
                case SQRT: vs_r = canon_s(sqrt_s(a)); break;
                case FMADD: vs_r = canon_s(fma_s(a, b, c)); break;
                case FMSUB: vs_r = canon_s(fma_s(a, b, -c)); break;
                case FNMADD: vs_r = canon_s(fma_s(-a, b, -c)); break;
                case FNMSUB: vs_r = canon_s(fma_s(-a, b, c)); break;
                case CVT_DS: vd_r = canon_d((double)a); break;
                }
                mix(op == CVT_DS ? bits_d(vd_r) : bits_s(vs_r));
                mix(read_flags());
            }
        }
    }
    end_line(ARITH_NAME[op], RM_NAME[rm]);
}

typedef uint64_t (*cvt_d_fn)(double);
typedef uint64_t (*cvt_s_fn)(float);
static const struct { const char *name; cvt_d_fn fn; } CVT_D[] = {
    {"fcvt.w.d", fcvt_w_d_rne}, {"fcvt.w.d", fcvt_w_d_rtz}, {"fcvt.w.d", fcvt_w_d_rdn}, {"fcvt.w.d", fcvt_w_d_rup},
    {"fcvt.w.d", fcvt_w_d_rmm}, {"fcvt.wu.d", fcvt_wu_d_rne}, {"fcvt.wu.d", fcvt_wu_d_rtz}, {"fcvt.wu.d", fcvt_wu_d_rmm},
    {"fcvt.l.d", fcvt_l_d_rne}, {"fcvt.l.d", fcvt_l_d_rtz}, {"fcvt.l.d", fcvt_l_d_rdn}, {"fcvt.l.d", fcvt_l_d_rup},
    {"fcvt.l.d", fcvt_l_d_rmm}, {"fcvt.lu.d", fcvt_lu_d_rne}, {"fcvt.lu.d", fcvt_lu_d_rtz},
};
static const int CVT_D_RM[] = {RNE, RTZ, RDN, RUP, RMM, RNE, RTZ, RMM, RNE, RTZ, RDN, RUP, RMM, RNE, RTZ};
static const struct { const char *name; cvt_s_fn fn; int rm; } CVT_S[] = {
    {"fcvt.w.s", fcvt_w_s_rne, RNE}, {"fcvt.w.s", fcvt_w_s_rtz, RTZ}, {"fcvt.w.s", fcvt_w_s_rmm, RMM},
    {"fcvt.wu.s", fcvt_wu_s_rtz, RTZ}, {"fcvt.l.s", fcvt_l_s_rdn, RDN}, {"fcvt.lu.s", fcvt_lu_s_rup, RUP},
};

/* Extra inputs for float-to-int conversions: ties and values just inside and outside each range. */
static const uint64_t CVT_EXTRA[] = {
    0x4004000000000000ull, 0xc00c000000000000ull, 0x3fe0000000000000ull, 0xbfe0000000000000ull, /* 2.5 -3.5 0.5 -0.5 */
    0x41dfffffffe00000ull, 0x41e0000000000000ull, 0xc1e0000000200000ull, 0xc1e0000000000000ull, /* 2^31-0.5, 2^31, ... */
    0x41efffffffe00000ull, 0x41f0000000000000ull, 0xbfefffffffffffffull, 0x43dfffffffffffffull,
    0x43f0000000000000ull, 0x43efffffffffffffull,
};

static void conversions(void) {
    int n = N_D + (int)(sizeof CVT_EXTRA / sizeof CVT_EXTRA[0]);
    for (int t = 0; t < (int)(sizeof CVT_D / sizeof CVT_D[0]); t++) {
        start_line();
        for (int i = 0; i < n; i++) {
            vd_a = from_bits_d(i < N_D ? D_INPUTS[i] : CVT_EXTRA[i - N_D]);
            clear_flags();
            vi_r = CVT_D[t].fn(vd_a);
            mix(vi_r);
            mix(read_flags());
        }
        end_line(CVT_D[t].name, RM_NAME[CVT_D_RM[t]]);
    }
    for (int t = 0; t < (int)(sizeof CVT_S / sizeof CVT_S[0]); t++) {
        start_line();
        for (int i = 0; i < N_S; i++) {
            vs_a = from_bits_s(S_INPUTS[i]);
            clear_flags();
            vi_r = CVT_S[t].fn(vs_a);
            mix(vi_r);
            mix(read_flags());
        }
        end_line(CVT_S[t].name, RM_NAME[CVT_S[t].rm]);
    }
    /* Integer to float: C casts, rounded in the dynamic mode. */
    static const int64_t INTS[] = {0, 1, -1, 3, 0x7fffffff, -0x7fffffff - 1, 0x80000001ll, 0x1fffffffffffff, 0x20000000000001ll,
                                   0x7fffffffffffffffll, -0x7fffffffffffffffll - 1, 0x123456789abcdefll, -12345678901234567ll,
                                   (int64_t)0xfffffffffffff801ull, 16777217, -16777219};
    for (int rm = RNE; rm <= RUP; rm++) {
        set_rm(rm);
        start_line();
        for (int i = 0; i < (int)(sizeof INTS / sizeof INTS[0]); i++) {
            volatile int64_t vin = INTS[i];
            clear_flags(); vd_r = (double)vin; mix(bits_d(vd_r)); mix(read_flags());
            clear_flags(); vd_r = (double)(uint64_t)vin; mix(bits_d(vd_r)); mix(read_flags());
            clear_flags(); vd_r = (double)(int32_t)vin; mix(bits_d(vd_r)); mix(read_flags());
            clear_flags(); vd_r = (double)(uint32_t)vin; mix(bits_d(vd_r)); mix(read_flags());
            clear_flags(); vs_r = (float)vin; mix(bits_s(vs_r)); mix(read_flags());
            clear_flags(); vs_r = (float)(uint64_t)vin; mix(bits_s(vs_r)); mix(read_flags());
            clear_flags(); vs_r = (float)(int32_t)vin; mix(bits_s(vs_r)); mix(read_flags());
            clear_flags(); vs_r = (float)(uint32_t)vin; mix(bits_s(vs_r)); mix(read_flags());
        }
        end_line("fcvt.*.int", RM_NAME[rm]);
    }
    set_rm(RNE);
}

static void compares_and_signs(void) {
    typedef uint64_t (*cmp_d_fn)(double, double);
    typedef double (*bin_d_fn)(double, double);
    typedef uint64_t (*cmp_s_fn)(float, float);
    typedef float (*bin_s_fn)(float, float);
    static const struct { const char *name; cmp_d_fn fn; } CMP_D[] = {{"feq.d", feq_d}, {"flt.d", flt_d}, {"fle.d", fle_d}};
    static const struct { const char *name; bin_d_fn fn; } BIN_D[] = {
        {"fmin.d", fmin_d}, {"fmax.d", fmax_d}, {"fsgnj.d", fsgnj_d}, {"fsgnjn.d", fsgnjn_d}, {"fsgnjx.d", fsgnjx_d}};
    static const struct { const char *name; cmp_s_fn fn; } CMP_S[] = {{"feq.s", feq_s}, {"flt.s", flt_s}, {"fle.s", fle_s}};
    static const struct { const char *name; bin_s_fn fn; } BIN_S[] = {
        {"fmin.s", fmin_s}, {"fmax.s", fmax_s}, {"fsgnj.s", fsgnj_s}, {"fsgnjn.s", fsgnjn_s}, {"fsgnjx.s", fsgnjx_s}};
    for (int t = 0; t < 3; t++) {
        start_line();
        for (int i = 0; i < N_D; i++) for (int j = 0; j < N_D; j++) {
            vd_a = from_bits_d(D_INPUTS[i]); vd_b = from_bits_d(D_INPUTS[j]);
            clear_flags(); vi_r = CMP_D[t].fn(vd_a, vd_b); mix(vi_r); mix(read_flags());
        }
        end_line(CMP_D[t].name, "-");
    }
    for (int t = 0; t < 5; t++) {
        start_line();
        for (int i = 0; i < N_D; i++) for (int j = 0; j < N_D; j++) {
            vd_a = from_bits_d(D_INPUTS[i]); vd_b = from_bits_d(D_INPUTS[j]);
            clear_flags(); vd_r = BIN_D[t].fn(vd_a, vd_b); mix(bits_d(vd_r)); mix(read_flags());
        }
        end_line(BIN_D[t].name, "-");
    }
    for (int t = 0; t < 3; t++) {
        start_line();
        for (int i = 0; i < N_S; i++) for (int j = 0; j < N_S; j++) {
            vs_a = from_bits_s(S_INPUTS[i]); vs_b = from_bits_s(S_INPUTS[j]);
            clear_flags(); vi_r = CMP_S[t].fn(vs_a, vs_b); mix(vi_r); mix(read_flags());
        }
        end_line(CMP_S[t].name, "-");
    }
    for (int t = 0; t < 5; t++) {
        start_line();
        for (int i = 0; i < N_S; i++) for (int j = 0; j < N_S; j++) {
            vs_a = from_bits_s(S_INPUTS[i]); vs_b = from_bits_s(S_INPUTS[j]);
            clear_flags(); vs_r = BIN_S[t].fn(vs_a, vs_b); mix(bits_s(vs_r)); mix(read_flags());
        }
        end_line(BIN_S[t].name, "-");
    }
    start_line();
    for (int i = 0; i < N_D; i++) { vd_a = from_bits_d(D_INPUTS[i]); clear_flags(); vi_r = fclass_d(vd_a); mix(vi_r); mix(read_flags()); }
    end_line("fclass.d", "-");
    start_line();
    for (int i = 0; i < N_S; i++) { vs_a = from_bits_s(S_INPUTS[i]); clear_flags(); vi_r = fclass_s(vs_a); mix(vi_r); mix(read_flags()); }
    end_line("fclass.s", "-");
}

/* A few results in the clear, so a reader can check them by eye. */
static void spot_checks(void) {
    set_rm(RNE);
    vd_a = 1.0; vd_b = 3.0;
    clear_flags(); vd_r = vd_a / vd_b;
    con_printf("1/3 = %016lx fflags=%02x\n", bits_d(vd_r), read_flags());
    set_rm(RUP);
    clear_flags(); vd_r = vd_a / vd_b;
    con_printf("1/3 rup = %016lx fflags=%02x\n", bits_d(vd_r), read_flags());
    set_rm(RNE);
    vd_a = 2.0;
    clear_flags(); vd_r = sqrt_d(vd_a);
    con_printf("sqrt(2) = %016lx fflags=%02x\n", bits_d(vd_r), read_flags());
    vd_a = -1.0;
    clear_flags(); vd_r = canon_d(sqrt_d(vd_a));
    con_printf("sqrt(-1) = %016lx fflags=%02x\n", bits_d(vd_r), read_flags());
    vd_a = 1.0; vd_b = 0.0;
    clear_flags(); vd_r = vd_a / vd_b;
    con_printf("1/0 = %016lx fflags=%02x\n", bits_d(vd_r), read_flags());
    vd_a = __builtin_nan("");
    clear_flags(); vi_r = fcvt_w_d_rtz(vd_a);
    con_printf("fcvt.w.d(nan) = %016lx fflags=%02x\n", vi_r, read_flags());
    vd_a = -1e30;
    clear_flags(); vi_r = fcvt_lu_d_rtz(vd_a);
    con_printf("fcvt.lu.d(-1e30) = %016lx fflags=%02x\n", vi_r, read_flags());
    vs_a = 1.0f; vs_b = 1e-40f;
    clear_flags(); vs_r = vs_a * vs_b;
    con_printf("1e-40f = %08x fflags=%02x\n", bits_s(vs_r), read_flags());
    con_printf("unboxed single + itself = %08lx\n", unboxed_single_is_nan());
    con_printf("fmv.x.w(-1.0f) = %016lx\n", fmv_x_w_neg_one());
    con_printf("fcvt.s.d(1.0) boxed = %016lx\n", fcvt_s_d_boxes());
}

int main(void) {
    con_puts("floating point\n");
    spot_checks();
    for (int rm = RNE; rm <= RUP; rm++) {
        for (int op = ADD; op < N_ARITH; op++) {
            if (op != CVT_DS) arith_d(op, rm);
            if (op != CVT_SD) arith_s(op, rm);
        }
    }
    set_rm(RNE);
    conversions();
    compares_and_signs();
    return 0;
}
