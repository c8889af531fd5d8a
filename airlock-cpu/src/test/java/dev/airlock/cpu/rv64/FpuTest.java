package dev.airlock.cpu.rv64;

import static dev.airlock.cpu.rv64.Fpu.DZ;
import static dev.airlock.cpu.rv64.Fpu.NV;
import static dev.airlock.cpu.rv64.Fpu.NX;
import static dev.airlock.cpu.rv64.Fpu.OF;
import static dev.airlock.cpu.rv64.Fpu.RDN;
import static dev.airlock.cpu.rv64.Fpu.RMM;
import static dev.airlock.cpu.rv64.Fpu.RNE;
import static dev.airlock.cpu.rv64.Fpu.RTZ;
import static dev.airlock.cpu.rv64.Fpu.RUP;
import static dev.airlock.cpu.rv64.Fpu.UF;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.util.SplittableRandom;
import java.util.zip.GZIPInputStream;
import java.util.function.LongSupplier;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;

/**
 * Known-answer tests of {@link Fpu} edge cases, a randomized differential test against an exact
 * BigInteger reference written here, and replay of vectors recorded from QEMU's RISC-V FPU.
 */
class FpuTest {

    private final Fpu fpu = new Fpu();

    // ------------------------------------------------------------------ value helpers

    static final long BOX = 0xFFFF_FFFF_0000_0000L;
    static final long CNAN_S = BOX | 0x7fc00000L;
    static final long CNAN_D = 0x7ff8000000000000L;
    static final long QNAN_S = BOX | 0x7fc12345L;
    static final long SNAN_S = BOX | 0x7f812345L;
    static final long QNAN_D = 0x7ff8000000012345L;
    static final long SNAN_D = 0x7ff0000000012345L;
    static final int[] ALL_RM = {RNE, RTZ, RDN, RUP, RMM};

    static long s(float f) {
        return BOX | (Float.floatToRawIntBits(f) & 0xFFFF_FFFFL);
    }

    static long sb(int bits) {
        return BOX | (bits & 0xFFFF_FFFFL);
    }

    static long d(double v) {
        return Double.doubleToRawLongBits(v);
    }

    /** Runs op with cleared flags and checks both the result pattern and the flags. */
    void check(long expected, int flags, LongSupplier op) {
        fpu.fflags = 0;
        long got = op.getAsLong();
        if (got != expected || fpu.fflags != flags) {
            fail(String.format("expected %016x flags %s, got %016x flags %s", expected, fl(flags), got,
                    fl(fpu.fflags)));
        }
    }

    static String fl(int f) {
        StringBuilder b = new StringBuilder();
        if ((f & NV) != 0) b.append("NV ");
        if ((f & DZ) != 0) b.append("DZ ");
        if ((f & OF) != 0) b.append("OF ");
        if ((f & UF) != 0) b.append("UF ");
        if ((f & NX) != 0) b.append("NX ");
        return b.length() == 0 ? "-" : b.toString().trim();
    }

    // ================================================================== known answers: single

    @Nested
    class SingleKnownAnswers {
        final long one = s(1f);
        final long halfUlp1 = s(0x1p-24f);
        final long max = s(Float.MAX_VALUE);
        final long minSub = s(Float.MIN_VALUE);
        final long minNorm = s(Float.MIN_NORMAL);

        @Test
        void addTiesAndDirectedModes() {
            check(one, NX, () -> fpu.addS(one, halfUlp1, RNE));
            check(one, NX, () -> fpu.addS(one, halfUlp1, RTZ));
            check(one, NX, () -> fpu.addS(one, halfUlp1, RDN));
            check(s(Math.nextUp(1f)), NX, () -> fpu.addS(one, halfUlp1, RUP));
            check(s(Math.nextUp(1f)), NX, () -> fpu.addS(one, halfUlp1, RMM));
            check(s(-1f), NX, () -> fpu.addS(s(-1f), s(-0x1p-24f), RNE));
            check(s(Math.nextDown(-1f)), NX, () -> fpu.addS(s(-1f), s(-0x1p-24f), RDN));
            check(s(3f), 0, () -> fpu.addS(one, s(2f), RUP));
            check(s(-1f), 0, () -> fpu.subS(one, s(2f), RNE));
        }

        @Test
        void addZeroSigns() {
            check(s(0f), 0, () -> fpu.addS(one, s(-1f), RNE));
            check(s(-0f), 0, () -> fpu.addS(one, s(-1f), RDN));
            check(s(0f), 0, () -> fpu.subS(one, one, RUP));
            check(s(-0f), 0, () -> fpu.subS(one, one, RDN));
            check(s(-0f), 0, () -> fpu.addS(s(-0f), s(-0f), RNE));
            check(s(0f), 0, () -> fpu.addS(s(0f), s(-0f), RNE));
            check(s(-0f), 0, () -> fpu.addS(s(0f), s(-0f), RDN));
            check(s(0f), 0, () -> fpu.addS(s(0f), s(0f), RDN));
            check(s(-0f), 0, () -> fpu.subS(s(-0f), s(0f), RNE));
        }

        @Test
        void addSpecials() {
            check(CNAN_S, NV, () -> fpu.addS(s(Float.POSITIVE_INFINITY), s(Float.NEGATIVE_INFINITY), RNE));
            check(CNAN_S, NV, () -> fpu.subS(s(Float.POSITIVE_INFINITY), s(Float.POSITIVE_INFINITY), RNE));
            check(s(Float.POSITIVE_INFINITY), 0, () -> fpu.addS(s(Float.POSITIVE_INFINITY), max, RNE));
            check(CNAN_S, 0, () -> fpu.addS(QNAN_S, one, RNE));
            check(CNAN_S, NV, () -> fpu.addS(one, SNAN_S, RNE));
            check(CNAN_S, NV, () -> fpu.addS(SNAN_S, QNAN_S, RNE));
            // Improper NaN boxing reads as the canonical (quiet) NaN.
            check(CNAN_S, 0, () -> fpu.addS(0x3f800000L, one, RNE));
            check(CNAN_S, 0, () -> fpu.addS(one, 0x7fff_ffff_3f80_0000L, RNE));
        }

        @Test
        void addOverflowPerMode() {
            check(s(Float.POSITIVE_INFINITY), OF | NX, () -> fpu.addS(max, max, RNE));
            check(max, OF | NX, () -> fpu.addS(max, max, RTZ));
            check(max, OF | NX, () -> fpu.addS(max, max, RDN));
            check(s(Float.POSITIVE_INFINITY), OF | NX, () -> fpu.addS(max, max, RUP));
            check(s(Float.POSITIVE_INFINITY), OF | NX, () -> fpu.addS(max, max, RMM));
            long nmax = s(-Float.MAX_VALUE);
            check(s(Float.NEGATIVE_INFINITY), OF | NX, () -> fpu.addS(nmax, nmax, RDN));
            check(nmax, OF | NX, () -> fpu.addS(nmax, nmax, RUP));
            check(nmax, OF | NX, () -> fpu.addS(nmax, nmax, RTZ));
            // MAX + half its ulp: a tie whose even neighbour is 2^128, so RNE overflows.
            long half = s(0x1p103f);
            check(s(Float.POSITIVE_INFINITY), OF | NX, () -> fpu.addS(max, half, RNE));
            check(max, NX, () -> fpu.addS(max, half, RTZ));
            check(max, NX, () -> fpu.addS(max, half, RDN));
            check(s(Float.POSITIVE_INFINITY), OF | NX, () -> fpu.addS(max, half, RUP));
            // Just under the tie: stays MAX in RNE without overflow.
            check(max, NX, () -> fpu.addS(max, s(0x1p102f), RNE));
        }

        @Test
        void mulUnderflowAndTininessAfterRounding() {
            check(s(0x1p-127f), 0, () -> fpu.mulS(minNorm, s(0.5f), RNE)); // exact subnormal
            check(s(0f), UF | NX, () -> fpu.mulS(minSub, s(0.5f), RNE)); // tie to even 0
            check(minSub, UF | NX, () -> fpu.mulS(minSub, s(0.5f), RMM));
            check(minSub, UF | NX, () -> fpu.mulS(minSub, s(0.5f), RUP));
            check(s(-0f), UF | NX, () -> fpu.mulS(minSub, s(-0.5f), RUP));
            check(s(-Float.MIN_VALUE), UF | NX, () -> fpu.mulS(minSub, s(-0.5f), RDN));
            check(s(0f), UF | NX, () -> fpu.mulS(minSub, s(0.25f), RNE));
            // (1-2^-24) * 2^-126 = 2^-126 - 2^-150 rounds to 2^-126 but is tiny after rounding with
            // an unbounded exponent (it is exactly representable there).
            long below1 = sb(0x3f7fffff);
            check(minNorm, UF | NX, () -> fpu.mulS(below1, minNorm, RNE));
            check(sb(0x007fffff), UF | NX, () -> fpu.mulS(below1, minNorm, RTZ));
            check(minNorm, UF | NX, () -> fpu.mulS(below1, minNorm, RUP));
            check(s(Float.POSITIVE_INFINITY), OF | NX, () -> fpu.mulS(max, s(2f), RNE));
            check(max, OF | NX, () -> fpu.mulS(max, s(2f), RTZ));
            check(CNAN_S, NV, () -> fpu.mulS(s(0f), s(Float.NEGATIVE_INFINITY), RNE));
            check(s(-0f), 0, () -> fpu.mulS(s(0f), s(-3f), RNE));
            check(s(Float.NEGATIVE_INFINITY), 0, () -> fpu.mulS(s(Float.POSITIVE_INFINITY), s(-3f), RNE));
        }

        @Test
        void divAndSqrt() {
            check(s(Float.POSITIVE_INFINITY), DZ, () -> fpu.divS(one, s(0f), RNE));
            check(s(Float.NEGATIVE_INFINITY), DZ, () -> fpu.divS(one, s(-0f), RNE));
            check(CNAN_S, NV, () -> fpu.divS(s(0f), s(0f), RNE));
            check(CNAN_S, NV, () -> fpu.divS(s(Float.POSITIVE_INFINITY), s(Float.NEGATIVE_INFINITY), RNE));
            check(s(-0f), 0, () -> fpu.divS(one, s(Float.NEGATIVE_INFINITY), RNE));
            check(s(Float.POSITIVE_INFINITY), 0, () -> fpu.divS(s(Float.POSITIVE_INFINITY), s(0f), RNE));
            check(CNAN_S, 0, () -> fpu.divS(QNAN_S, s(0f), RNE));
            long third = s(3f);
            check(sb(0x3eaaaaab), NX, () -> fpu.divS(one, third, RNE));
            check(sb(0x3eaaaaaa), NX, () -> fpu.divS(one, third, RTZ));
            check(sb(0x3eaaaaaa), NX, () -> fpu.divS(one, third, RDN));
            check(sb(0x3eaaaaab), NX, () -> fpu.divS(one, third, RUP));
            check(sb(0x3eaaaaab), NX, () -> fpu.divS(one, third, RMM));
            check(sb(0xbeaaaaab), NX, () -> fpu.divS(s(-1f), third, RDN));
            check(sb(0xbeaaaaaa), NX, () -> fpu.divS(s(-1f), third, RUP));
            check(s(0.25f), 0, () -> fpu.divS(one, s(4f), RUP));
            check(s(0f), UF | NX, () -> fpu.divS(minSub, s(3f), RNE));
            check(minSub, UF | NX, () -> fpu.divS(minSub, s(3f), RUP));

            check(CNAN_S, NV, () -> fpu.sqrtS(s(-1f), RNE));
            check(CNAN_S, NV, () -> fpu.sqrtS(s(Float.NEGATIVE_INFINITY), RNE));
            check(s(-0f), 0, () -> fpu.sqrtS(s(-0f), RNE));
            check(s(Float.POSITIVE_INFINITY), 0, () -> fpu.sqrtS(s(Float.POSITIVE_INFINITY), RNE));
            check(CNAN_S, NV, () -> fpu.sqrtS(SNAN_S, RNE));
            check(CNAN_S, 0, () -> fpu.sqrtS(QNAN_S, RNE));
            check(s(2f), 0, () -> fpu.sqrtS(s(4f), RDN));
            check(sb(0x3fb504f3), NX, () -> fpu.sqrtS(s(2f), RNE));
            check(sb(0x3fb504f3), NX, () -> fpu.sqrtS(s(2f), RDN));
            check(sb(0x3fb504f4), NX, () -> fpu.sqrtS(s(2f), RUP));
            check(s(0x1p-74f), 0, () -> fpu.sqrtS(s(0x1p-148f), RNE)); // subnormal input, exact root
        }

        @Test
        void fusedIsRoundedOnce() {
            // (1+2^-12)^2 + 2^-80 = 1 + 2^-11 + 2^-24 + 2^-80: double rounding would drop 2^-80 and
            // then tie to even (1 + 2^-11); the single rounding goes up.
            long a = s(1f + 0x1p-12f);
            long tiny = s(0x1p-80f);
            check(sb(0x3f801001), NX, () -> fpu.fmaddS(a, a, tiny, RNE));
            check(sb(0x3f801000), NX, () -> fpu.fmaddS(a, a, s(-0x1p-80f), RNE));
            check(sb(0x3f801000), NX, () -> fpu.fmaddS(a, a, tiny, RTZ));
            check(sb(0x3f801001), NX, () -> fpu.fmaddS(a, a, s(0f), RMM));
            check(sb(0x3f801000), NX, () -> fpu.fmaddS(a, a, s(0f), RNE));
            check(sb(0x3f801001), NX, () -> fpu.fmaddS(a, a, s(0f), RUP));
        }

        @Test
        void fusedVariantsSignsAndSpecials() {
            long three = s(3f);
            long two = s(2f);
            check(s(7f), 0, () -> fpu.fmaddS(three, two, one, RNE));
            check(s(5f), 0, () -> fpu.fmsubS(three, two, one, RNE));
            check(s(-5f), 0, () -> fpu.fnmsubS(three, two, one, RNE));
            check(s(-7f), 0, () -> fpu.fnmaddS(three, two, one, RNE));
            long z = s(0f);
            check(s(0f), 0, () -> fpu.fmaddS(z, one, z, RNE));
            check(s(-0f), 0, () -> fpu.fnmaddS(z, one, z, RNE));
            check(s(0f), 0, () -> fpu.fmsubS(z, one, z, RNE));
            check(s(-0f), 0, () -> fpu.fmsubS(z, one, z, RDN));
            check(s(0f), 0, () -> fpu.fnmsubS(z, one, z, RNE));
            check(s(-0f), 0, () -> fpu.fnmsubS(z, one, z, RDN));
            check(s(0f), 0, () -> fpu.fmsubS(three, two, s(6f), RNE));
            check(s(-0f), 0, () -> fpu.fmsubS(three, two, s(6f), RDN));
            check(CNAN_S, NV, () -> fpu.fmaddS(s(Float.POSITIVE_INFINITY), z, QNAN_S, RNE));
            check(CNAN_S, NV, () -> fpu.fmaddS(z, s(Float.NEGATIVE_INFINITY), one, RNE));
            check(CNAN_S, NV, () -> fpu.fmaddS(s(Float.POSITIVE_INFINITY), one, s(Float.NEGATIVE_INFINITY), RNE));
            check(CNAN_S, 0, () -> fpu.fmaddS(one, one, QNAN_S, RNE));
            check(CNAN_S, NV, () -> fpu.fmaddS(one, SNAN_S, one, RNE));
            check(s(Float.NEGATIVE_INFINITY), 0, () -> fpu.fmaddS(one, one, s(Float.NEGATIVE_INFINITY), RNE));
            check(s(Float.POSITIVE_INFINITY), 0, () -> fpu.fmsubS(s(Float.POSITIVE_INFINITY), one, s(Float.NEGATIVE_INFINITY), RNE));
            // Exact intermediate beyond MAX does not overflow when the sum comes back in range.
            check(max, 0, () -> fpu.fmsubS(max, two, max, RNE));
            check(s(Float.POSITIVE_INFINITY), OF | NX, () -> fpu.fmaddS(max, two, max, RNE));
            check(minSub, UF | NX, () -> fpu.fmaddS(minSub, s(0.5f), s(0f), RUP));
        }

        @Test
        void minMax() {
            check(s(-0f), 0, () -> fpu.minS(s(0f), s(-0f)));
            check(s(-0f), 0, () -> fpu.minS(s(-0f), s(0f)));
            check(s(0f), 0, () -> fpu.maxS(s(-0f), s(0f)));
            check(s(0f), 0, () -> fpu.maxS(s(0f), s(-0f)));
            check(one, 0, () -> fpu.minS(QNAN_S, one));
            check(one, 0, () -> fpu.maxS(one, QNAN_S));
            check(one, NV, () -> fpu.minS(SNAN_S, one));
            check(one, NV, () -> fpu.maxS(one, SNAN_S));
            check(CNAN_S, 0, () -> fpu.minS(QNAN_S, QNAN_S));
            check(CNAN_S, NV, () -> fpu.maxS(QNAN_S, SNAN_S));
            check(s(-2f), 0, () -> fpu.minS(s(-2f), s(1f)));
            check(s(1f), 0, () -> fpu.maxS(s(-2f), s(1f)));
            check(s(Float.NEGATIVE_INFINITY), 0, () -> fpu.minS(s(Float.NEGATIVE_INFINITY), max));
            check(one, 0, () -> fpu.minS(0x3f800000L, one)); // improperly boxed = quiet NaN
        }

        @Test
        void signInjection() {
            check(s(-1f), 0, () -> fpu.sgnjS(one, s(-2f)));
            check(s(1f), 0, () -> fpu.sgnjnS(one, s(-2f)));
            check(s(-1f), 0, () -> fpu.sgnjnS(one, s(2f)));
            check(s(1f), 0, () -> fpu.sgnjxS(s(-1f), s(-2f)));
            check(s(-1f), 0, () -> fpu.sgnjxS(s(1f), s(-2f)));
            check(sb(0xffc00000), 0, () -> fpu.sgnjS(0x3f800000L, s(-1f)));
            check(sb(0x7f812345), 0, () -> fpu.sgnjS(SNAN_S, one)); // no NV, payload kept
            check(one, 0, () -> fpu.sgnjS(one, 0x0000_0000_bf80_0000L)); // canonical NaN sign is +
        }

        @Test
        void compare() {
            check(0, 0, () -> fpu.eqS(QNAN_S, one));
            check(0, NV, () -> fpu.eqS(SNAN_S, one));
            check(0, NV, () -> fpu.ltS(QNAN_S, one));
            check(0, NV, () -> fpu.leS(one, QNAN_S));
            check(1, 0, () -> fpu.eqS(s(-0f), s(0f)));
            check(1, 0, () -> fpu.leS(s(-0f), s(0f)));
            check(0, 0, () -> fpu.ltS(s(-0f), s(0f)));
            check(1, 0, () -> fpu.ltS(s(-1f), minSub));
            check(0, 0, () -> fpu.ltS(one, one));
            check(1, 0, () -> fpu.leS(one, one));
            check(0, 0, () -> fpu.eqS(0x3f800000L, 0x3f800000L)); // both canonical NaN
        }

        @Test
        void classify() {
            check(1 << 0, 0, () -> fpu.classifyS(s(Float.NEGATIVE_INFINITY)));
            check(1 << 1, 0, () -> fpu.classifyS(s(-1f)));
            check(1 << 2, 0, () -> fpu.classifyS(s(-Float.MIN_VALUE)));
            check(1 << 3, 0, () -> fpu.classifyS(s(-0f)));
            check(1 << 4, 0, () -> fpu.classifyS(s(0f)));
            check(1 << 5, 0, () -> fpu.classifyS(sb(0x007fffff)));
            check(1 << 6, 0, () -> fpu.classifyS(minNorm));
            check(1 << 7, 0, () -> fpu.classifyS(s(Float.POSITIVE_INFINITY)));
            check(1 << 8, 0, () -> fpu.classifyS(SNAN_S));
            check(1 << 9, 0, () -> fpu.classifyS(QNAN_S));
            check(1 << 9, 0, () -> fpu.classifyS(0x0000_0000_3f80_0000L));
        }

        @Test
        void toInteger() {
            check(0x7fffffffL, NV, () -> fpu.fcvtWS(s(0x1p31f), RNE));
            check(Integer.MIN_VALUE, 0, () -> fpu.fcvtWS(s(-0x1p31f), RNE));
            check(Integer.MIN_VALUE, NV, () -> fpu.fcvtWS(s(Math.nextDown(-0x1p31f)), RNE));
            check(0x7fffffffL, NV, () -> fpu.fcvtWS(QNAN_S, RNE));
            check(0x7fffffffL, NV, () -> fpu.fcvtWS(s(Float.POSITIVE_INFINITY), RNE));
            check(Integer.MIN_VALUE, NV, () -> fpu.fcvtWS(s(Float.NEGATIVE_INFINITY), RNE));
            check(-1L, NV, () -> fpu.fcvtWUS(QNAN_S, RNE));
            check(0, NV, () -> fpu.fcvtWUS(s(Float.NEGATIVE_INFINITY), RNE));
            check(0, NV, () -> fpu.fcvtWUS(s(-1f), RTZ));
            check(0, NX, () -> fpu.fcvtWUS(s(-0.5f), RTZ));
            check(0, NX, () -> fpu.fcvtWUS(s(-0.5f), RNE));
            check(0, NV, () -> fpu.fcvtWUS(s(-0.5f), RDN));
            check(0xffffffff80000000L, 0, () -> fpu.fcvtWUS(s(0x1p31f), RNE)); // sign-extended
            check(0xffffff00L | 0xffffffff00000000L, 0, () -> fpu.fcvtWUS(s(0x1p32f - 256), RNE));
            check(-1L, NV, () -> fpu.fcvtWUS(s(0x1p32f), RNE));
            check(Long.MAX_VALUE, NV, () -> fpu.fcvtLS(s(0x1p63f), RNE));
            check(Long.MIN_VALUE, 0, () -> fpu.fcvtLS(s(-0x1p63f), RNE));
            check(Long.MAX_VALUE, NV, () -> fpu.fcvtLS(SNAN_S, RNE));
            check(Long.MIN_VALUE, 0, () -> fpu.fcvtLUS(s(0x1p63f), RNE));
            check(-1L, NV, () -> fpu.fcvtLUS(s(0x1p64f), RNE));
            check(-1L, NV, () -> fpu.fcvtLUS(QNAN_S, RNE));
            check(0, NV, () -> fpu.fcvtLUS(s(-1f), RNE));
            check(2, NX, () -> fpu.fcvtWS(s(2.5f), RNE));
            check(3, NX, () -> fpu.fcvtWS(s(2.5f), RMM));
            check(-3, NX, () -> fpu.fcvtWS(s(-2.5f), RMM));
            check(-2, NX, () -> fpu.fcvtWS(s(-2.5f), RTZ));
            check(-3, NX, () -> fpu.fcvtWS(s(-2.5f), RDN));
            check(3, NX, () -> fpu.fcvtWS(s(2.5f), RUP));
            check(0, NX, () -> fpu.fcvtWS(s(Float.MIN_VALUE), RNE));
            check(1, NX, () -> fpu.fcvtWS(s(Float.MIN_VALUE), RUP));
            check(-1, NX, () -> fpu.fcvtLS(s(-Float.MIN_VALUE), RDN));
            check(0, 0, () -> fpu.fcvtWS(s(-0f), RNE));
        }

        @Test
        void fromInteger() {
            check(s(0x1p24f), NX, () -> fpu.fcvtSW(16777217, RNE));
            check(s(0x1p24f), NX, () -> fpu.fcvtSW(16777217, RDN));
            check(s(16777218f), NX, () -> fpu.fcvtSW(16777217, RUP));
            check(s(16777218f), NX, () -> fpu.fcvtSW(16777217, RMM));
            check(s(-16777218f), NX, () -> fpu.fcvtSW(-16777217, RDN));
            check(s(-0x1p31f), 0, () -> fpu.fcvtSW(0x1234_5678_8000_0000L, RNE)); // low 32 bits only
            check(s(0f), 0, () -> fpu.fcvtSW(0, RDN));
            check(s(0x1p32f), NX, () -> fpu.fcvtSWU(0xffffffffL, RNE));
            check(sb(0x4f7fffff), NX, () -> fpu.fcvtSWU(-1L, RTZ));
            check(s(-0x1p63f), 0, () -> fpu.fcvtSL(Long.MIN_VALUE, RNE));
            check(s(0x1p64f), NX, () -> fpu.fcvtSLU(-1L, RNE));
            check(sb(0x5f7fffff), NX, () -> fpu.fcvtSLU(-1L, RTZ));
            check(s(0x1p63f), 0, () -> fpu.fcvtSLU(Long.MIN_VALUE, RTZ));
        }

        @Test
        void precisionConversions() {
            check(s(1f), NX, () -> fpu.fcvtSD(d(1 + 0x1p-24), RNE));
            check(s(Math.nextUp(1f)), NX, () -> fpu.fcvtSD(d(1 + 0x1p-24), RUP));
            check(s(Math.nextUp(1f)), NX, () -> fpu.fcvtSD(d(1 + 0x1p-24), RMM));
            check(s(Float.POSITIVE_INFINITY), OF | NX, () -> fpu.fcvtSD(d(Double.MAX_VALUE), RNE));
            check(s(Float.MAX_VALUE), OF | NX, () -> fpu.fcvtSD(d(Double.MAX_VALUE), RTZ));
            check(s(-Float.MAX_VALUE), OF | NX, () -> fpu.fcvtSD(d(-Double.MAX_VALUE), RUP));
            check(s(0f), UF | NX, () -> fpu.fcvtSD(d(0x1p-150), RNE));
            check(minSub, UF | NX, () -> fpu.fcvtSD(d(0x1p-150 + 0x1p-200), RNE));
            check(minSub, UF | NX, () -> fpu.fcvtSD(d(Double.MIN_VALUE), RUP));
            check(s(-0f), UF | NX, () -> fpu.fcvtSD(d(-Double.MIN_VALUE), RNE));
            check(s(0x1p-149f), 0, () -> fpu.fcvtSD(d(0x1p-149), RDN));
            // Tininess after rounding around 2^-126.
            check(minNorm, NX, () -> fpu.fcvtSD(d(0x1p-126 - 0x1p-152), RNE));
            check(minNorm, NX, () -> fpu.fcvtSD(d(0x1p-126 - 0x1p-151), RNE));
            check(minNorm, UF | NX, () -> fpu.fcvtSD(d(0x1p-126 - 0x1p-150), RNE));
            check(sb(0x007fffff), UF | NX, () -> fpu.fcvtSD(d(0x1p-126 - 0x1p-152), RTZ));
            check(minNorm, NX, () -> fpu.fcvtSD(d(0x1p-126 - 0x1p-152), RUP));
            check(CNAN_S, NV, () -> fpu.fcvtSD(SNAN_D, RNE));
            check(CNAN_S, 0, () -> fpu.fcvtSD(QNAN_D, RNE));
            check(s(Float.NEGATIVE_INFINITY), 0, () -> fpu.fcvtSD(d(Double.NEGATIVE_INFINITY), RNE));
            check(s(-0f), 0, () -> fpu.fcvtSD(d(-0.0), RNE));

            check(CNAN_D, NV, () -> fpu.fcvtDS(SNAN_S));
            check(CNAN_D, 0, () -> fpu.fcvtDS(QNAN_S));
            check(CNAN_D, 0, () -> fpu.fcvtDS(0x3f800000L));
            check(d(0x1p-149), 0, () -> fpu.fcvtDS(minSub));
            check(d(-0.0), 0, () -> fpu.fcvtDS(s(-0f)));
            check(d(Double.POSITIVE_INFINITY), 0, () -> fpu.fcvtDS(s(Float.POSITIVE_INFINITY)));
        }

        @Test
        void moves() {
            check(0xffffffff80000000L, 0, () -> fpu.fmvXW(sb(0x80000000)));
            check(0xffffffff9abcdef0L, 0, () -> fpu.fmvXW(0x123456789abcdef0L));
            check(0x3f800000L, 0, () -> fpu.fmvXW(0x3f800000L)); // no boxing check on moves
            check(0xffffffff3f800000L, 0, () -> fpu.fmvWX(0x12345678_3f800000L));
        }
    }

    // ================================================================== known answers: double

    @Nested
    class DoubleKnownAnswers {
        final long one = d(1);
        final long max = d(Double.MAX_VALUE);
        final long minSub = d(Double.MIN_VALUE);
        final long minNorm = d(Double.MIN_NORMAL);
        final long pinf = d(Double.POSITIVE_INFINITY);
        final long ninf = d(Double.NEGATIVE_INFINITY);

        @Test
        void addModesAndOverflow() {
            long h = d(0x1p-53);
            check(one, NX, () -> fpu.addD(one, h, RNE));
            check(one, NX, () -> fpu.addD(one, h, RTZ));
            check(d(Math.nextUp(1.0)), NX, () -> fpu.addD(one, h, RUP));
            check(d(Math.nextUp(1.0)), NX, () -> fpu.addD(one, h, RMM));
            check(d(Math.nextDown(1.0)), NX, () -> fpu.subD(one, d(0x1p-60), RDN));
            check(d(Math.nextDown(1.0)), NX, () -> fpu.subD(one, d(0x1p-60), RTZ));
            check(one, NX, () -> fpu.subD(one, d(0x1p-60), RUP));
            check(pinf, OF | NX, () -> fpu.addD(max, max, RNE));
            check(max, OF | NX, () -> fpu.addD(max, max, RTZ));
            check(max, OF | NX, () -> fpu.addD(max, max, RDN));
            check(pinf, OF | NX, () -> fpu.addD(max, max, RUP));
            check(pinf, OF | NX, () -> fpu.addD(max, d(0x1p970), RNE));
            check(max, NX, () -> fpu.addD(max, d(0x1p970), RTZ));
            check(max, NX, () -> fpu.addD(max, d(0x1p969), RNE));
            check(pinf, OF | NX, () -> fpu.addD(max, d(0x1p969), RUP));
            check(max, NX, () -> fpu.addD(max, d(0x1p969), RMM));
            check(d(-Double.MAX_VALUE), NX, () -> fpu.subD(d(-Double.MAX_VALUE), d(0x1p969), RUP));
            check(ninf, OF | NX, () -> fpu.subD(d(-Double.MAX_VALUE), d(0x1p969), RDN));
            check(d(0.0), 0, () -> fpu.subD(one, one, RNE));
            check(d(-0.0), 0, () -> fpu.subD(one, one, RDN));
            check(d(-0.0), 0, () -> fpu.addD(d(-0.0), d(-0.0), RUP));
            check(d(0.0), 0, () -> fpu.addD(d(0.0), d(0.0), RDN));
            check(d(Double.MIN_VALUE), 0, () -> fpu.subD(d(Double.MIN_NORMAL), d(Math.nextDown(Double.MIN_NORMAL)), RNE));
            check(CNAN_D, NV, () -> fpu.addD(pinf, ninf, RNE));
            check(CNAN_D, NV, () -> fpu.addD(SNAN_D, one, RNE));
            check(CNAN_D, 0, () -> fpu.addD(one, QNAN_D, RNE));
            check(ninf, 0, () -> fpu.addD(max, ninf, RNE));
        }

        @Test
        void mulUnderflow() {
            check(d(0.0), UF | NX, () -> fpu.mulD(minSub, d(0.5), RNE));
            check(minSub, UF | NX, () -> fpu.mulD(minSub, d(0.5), RMM));
            check(minSub, UF | NX, () -> fpu.mulD(minSub, d(0.5), RUP));
            check(d(-0.0), UF | NX, () -> fpu.mulD(minSub, d(-0.5), RTZ));
            check(d(0x1p-1023), 0, () -> fpu.mulD(minNorm, d(0.5), RNE));
            long below1 = d(Math.nextDown(1.0));
            check(minNorm, UF | NX, () -> fpu.mulD(below1, minNorm, RNE));
            check(d(Math.nextDown(Double.MIN_NORMAL)), UF | NX, () -> fpu.mulD(below1, minNorm, RDN));
            // Just above 2^-1022: inexact but not tiny.
            check(minNorm, NX, () -> fpu.mulD(d(1 - 0x1p-53), d(0x1p-1022 * (1 + 0x1p-52)), RNE));
            check(pinf, OF | NX, () -> fpu.mulD(max, d(1 + 0x1p-52), RNE));
            check(max, OF | NX, () -> fpu.mulD(max, d(1 + 0x1p-52), RTZ));
            check(d(-Double.MAX_VALUE), OF | NX, () -> fpu.mulD(max, d(-1 - 0x1p-52), RUP));
            check(d(0x1p-60), 0, () -> fpu.mulD(d(0x1p-30), d(0x1p-30), RUP));
            check(d(1 + 0x1p-51 + 0x1p-52), NX, () -> fpu.mulD(d(1 + 0x1p-52), d(1 + 0x1p-52), RUP));
            check(d(1 + 0x1p-51), NX, () -> fpu.mulD(d(1 + 0x1p-52), d(1 + 0x1p-52), RNE));
            check(CNAN_D, NV, () -> fpu.mulD(pinf, d(-0.0), RNE));
            check(d(-0.0), 0, () -> fpu.mulD(d(-0.0), one, RNE));
        }

        @Test
        void divAndSqrt() {
            long three = d(3);
            check(0x3fd5555555555555L, NX, () -> fpu.divD(one, three, RNE));
            check(0x3fd5555555555555L, NX, () -> fpu.divD(one, three, RTZ));
            check(0x3fd5555555555556L, NX, () -> fpu.divD(one, three, RUP));
            check(0x3fd5555555555555L, NX, () -> fpu.divD(one, three, RMM));
            check(0xbfd5555555555556L, NX, () -> fpu.divD(d(-1), three, RDN));
            check(d(0.0), UF | NX, () -> fpu.divD(minSub, d(2), RNE));
            check(minSub, UF | NX, () -> fpu.divD(minSub, d(2), RMM));
            check(minSub, UF | NX, () -> fpu.divD(minSub, d(3), RUP));
            check(d(0x1p-1074), 0, () -> fpu.divD(d(0x1p-1000), d(0x1p74), RUP));
            check(pinf, OF | NX, () -> fpu.divD(max, d(0.5), RNE));
            check(max, OF | NX, () -> fpu.divD(max, d(0.5), RDN));
            check(pinf, DZ, () -> fpu.divD(one, d(0.0), RNE));
            check(ninf, DZ, () -> fpu.divD(d(-1), d(0.0), RNE));
            check(CNAN_D, NV, () -> fpu.divD(d(0.0), d(-0.0), RNE));
            check(CNAN_D, NV, () -> fpu.divD(pinf, pinf, RNE));
            check(d(-0.0), 0, () -> fpu.divD(d(-1), pinf, RNE));
            check(CNAN_D, NV, () -> fpu.divD(SNAN_D, d(0.0), RNE));

            check(0x3ff6a09e667f3bcdL, NX, () -> fpu.sqrtD(d(2), RNE));
            check(0x3ff6a09e667f3bccL, NX, () -> fpu.sqrtD(d(2), RTZ));
            check(0x3ff6a09e667f3bccL, NX, () -> fpu.sqrtD(d(2), RDN));
            check(0x3ff6a09e667f3bcdL, NX, () -> fpu.sqrtD(d(2), RUP));
            check(d(0x1p-537), 0, () -> fpu.sqrtD(minSub, RNE));
            check(d(0x1p-537), 0, () -> fpu.sqrtD(minSub, RUP));
            check(CNAN_D, NV, () -> fpu.sqrtD(d(-Double.MIN_VALUE), RNE));
            check(d(-0.0), 0, () -> fpu.sqrtD(d(-0.0), RNE));
            check(pinf, 0, () -> fpu.sqrtD(pinf, RNE));
            check(CNAN_D, NV, () -> fpu.sqrtD(ninf, RNE));
            check(CNAN_D, 0, () -> fpu.sqrtD(QNAN_D, RNE));
        }

        @Test
        void fused() {
            check(d(0x1p-54), 0, () -> fpu.fmaddD(d(0.1), d(10), d(-1), RNE));
            long a = d(1 + 0x1p-52);
            check(d(0x1p-51), NX, () -> fpu.fmaddD(a, a, d(-1), RNE));
            check(d(0x1p-51), NX, () -> fpu.fmaddD(a, a, d(-1), RDN));
            check(d(0x1p-51 + 0x1p-103), NX, () -> fpu.fmaddD(a, a, d(-1), RUP));
            check(d(0x1p-51 + 0x1p-103), NX, () -> fpu.fmaddD(a, a, d(-1), RMM));
            check(d(-0x1p-51 - 0x1p-103), NX, () -> fpu.fnmsubD(a, a, d(1), RMM));
            check(max, 0, () -> fpu.fmsubD(max, d(2), max, RNE));
            check(pinf, OF | NX, () -> fpu.fmaddD(max, d(2), max, RNE));
            check(d(0.0), 0, () -> fpu.fmsubD(d(3), d(2), d(6), RNE));
            check(d(-0.0), 0, () -> fpu.fmsubD(d(3), d(2), d(6), RDN));
            check(d(-0.0), 0, () -> fpu.fnmaddD(d(0.0), d(1), d(0.0), RNE));
            check(d(0.0), 0, () -> fpu.fnmsubD(d(0.0), d(1), d(0.0), RNE));
            check(d(-0.0), 0, () -> fpu.fnmsubD(d(0.0), d(1), d(0.0), RDN));
            check(d(-7), 0, () -> fpu.fnmaddD(d(3), d(2), one, RNE));
            check(d(-5), 0, () -> fpu.fnmsubD(d(3), d(2), one, RNE));
            check(CNAN_D, NV, () -> fpu.fmaddD(pinf, d(0.0), QNAN_D, RNE));
            check(CNAN_D, NV, () -> fpu.fmaddD(pinf, one, ninf, RNE));
            check(CNAN_D, 0, () -> fpu.fmaddD(QNAN_D, one, one, RNE));
            check(CNAN_D, NV, () -> fpu.fmaddD(one, one, SNAN_D, RNE));
            check(ninf, 0, () -> fpu.fmaddD(max, max, ninf, RNE));
            // A tiny addend below a huge product still makes the result inexact.
            check(d(1), NX, () -> fpu.fmaddD(one, one, d(0x1p-1000), RNE));
            check(d(Math.nextUp(1.0)), NX, () -> fpu.fmaddD(one, one, d(0x1p-1000), RUP));
            check(d(Math.nextDown(1.0)), NX, () -> fpu.fmaddD(one, one, d(-Double.MIN_VALUE), RTZ));
            // Underflowing product exactly cancels into a subnormal.
            check(minSub, 0, () -> fpu.fmaddD(d(0x1p-600), d(0x1p-474), d(-0.0), RNE));
            check(d(0.0), UF | NX, () -> fpu.fmaddD(d(0x1p-600), d(0x1p-475), d(0.0), RNE));
        }

        @Test
        void minMaxCompareClassify() {
            check(d(-0.0), 0, () -> fpu.minD(d(0.0), d(-0.0)));
            check(d(0.0), 0, () -> fpu.maxD(d(-0.0), d(0.0)));
            check(one, NV, () -> fpu.minD(SNAN_D, one));
            check(one, 0, () -> fpu.maxD(QNAN_D, one));
            check(CNAN_D, 0, () -> fpu.maxD(QNAN_D, QNAN_D));
            check(CNAN_D, NV, () -> fpu.minD(SNAN_D, QNAN_D));
            check(0, NV, () -> fpu.eqD(SNAN_D, SNAN_D));
            check(0, 0, () -> fpu.eqD(QNAN_D, QNAN_D));
            check(0, NV, () -> fpu.leD(QNAN_D, one));
            check(1, 0, () -> fpu.leD(d(-0.0), d(0.0)));
            check(1, 0, () -> fpu.ltD(ninf, d(-Double.MAX_VALUE)));
            check(1 << 0, 0, () -> fpu.classifyD(ninf));
            check(1 << 1, 0, () -> fpu.classifyD(d(-1)));
            check(1 << 2, 0, () -> fpu.classifyD(d(-Double.MIN_VALUE)));
            check(1 << 3, 0, () -> fpu.classifyD(d(-0.0)));
            check(1 << 4, 0, () -> fpu.classifyD(d(0.0)));
            check(1 << 5, 0, () -> fpu.classifyD(d(Math.nextDown(Double.MIN_NORMAL))));
            check(1 << 6, 0, () -> fpu.classifyD(minNorm));
            check(1 << 7, 0, () -> fpu.classifyD(pinf));
            check(1 << 8, 0, () -> fpu.classifyD(SNAN_D));
            check(1 << 9, 0, () -> fpu.classifyD(QNAN_D));
            check(d(-1), 0, () -> fpu.sgnjD(one, d(-0.0)));
            check(d(-1), 0, () -> fpu.sgnjnD(one, d(0.0)));
            check(d(1), 0, () -> fpu.sgnjxD(d(-1), d(-2)));
            check(SNAN_D | Long.MIN_VALUE, 0, () -> fpu.sgnjnD(SNAN_D, SNAN_D));
        }

        @Test
        void toInteger() {
            check(Integer.MIN_VALUE, NV, () -> fpu.fcvtWD(d(-2147483649.0), RNE));
            check(Integer.MIN_VALUE, NX, () -> fpu.fcvtWD(d(-2147483648.5), RTZ));
            check(Integer.MIN_VALUE, NX, () -> fpu.fcvtWD(d(-2147483648.5), RNE));
            check(Integer.MIN_VALUE, NV, () -> fpu.fcvtWD(d(-2147483648.5), RDN));
            check(Integer.MIN_VALUE, NV, () -> fpu.fcvtWD(d(-2147483648.5), RMM));
            check(Integer.MAX_VALUE, NV, () -> fpu.fcvtWD(d(2147483647.5), RNE));
            check(Integer.MAX_VALUE, NX, () -> fpu.fcvtWD(d(2147483647.5), RTZ));
            check(Integer.MAX_VALUE, NV, () -> fpu.fcvtWD(d(2147483648.0), RTZ));
            check(Integer.MAX_VALUE, NV, () -> fpu.fcvtWD(QNAN_D, RNE));
            check(Integer.MIN_VALUE, NV, () -> fpu.fcvtWD(ninf, RNE));
            check(-1L, 0, () -> fpu.fcvtWUD(d(4294967295.0), RNE));
            check(0xffffffff80000000L, 0, () -> fpu.fcvtWUD(d(2147483648.0), RNE));
            check(-1L, NV, () -> fpu.fcvtWUD(d(4294967296.0), RNE));
            check(-1L, NV, () -> fpu.fcvtWUD(d(4294967295.5), RNE));
            check(-1L, NX, () -> fpu.fcvtWUD(d(4294967295.5), RTZ));
            check(0, NX, () -> fpu.fcvtWUD(d(-0.5), RTZ));
            check(0, NV, () -> fpu.fcvtWUD(d(-0.5), RDN));
            check(0, NV, () -> fpu.fcvtWUD(d(-1), RNE));
            check(Long.MAX_VALUE, NV, () -> fpu.fcvtLD(d(0x1p63), RNE));
            check(Long.MIN_VALUE, 0, () -> fpu.fcvtLD(d(-0x1p63), RNE));
            check(Long.MIN_VALUE, NV, () -> fpu.fcvtLD(d(Math.nextDown(-0x1p63)), RNE));
            check(Long.MAX_VALUE, NV, () -> fpu.fcvtLD(pinf, RNE));
            check(Long.MAX_VALUE, NV, () -> fpu.fcvtLD(SNAN_D, RNE));
            check((1L << 62) + 1024, 0, () -> fpu.fcvtLD(d(0x1p62 + 1024), RNE));
            check(Long.MIN_VALUE, 0, () -> fpu.fcvtLUD(d(0x1p63), RNE));
            check(0xfffffffffffff800L, 0, () -> fpu.fcvtLUD(d(Math.nextDown(0x1p64)), RNE));
            check(-1L, NV, () -> fpu.fcvtLUD(d(0x1p64), RNE));
            check(0, NV, () -> fpu.fcvtLUD(d(-1), RNE));
            check(0, NV, () -> fpu.fcvtLUD(ninf, RNE));
            check(-1L, NV, () -> fpu.fcvtLUD(QNAN_D, RNE));
            check(0, NX, () -> fpu.fcvtLD(d(0.49999999999999994), RMM));
            check(1, NX, () -> fpu.fcvtLD(d(0.5), RMM));
            check(0, NX, () -> fpu.fcvtLD(d(0.5), RNE));
            check(2, NX, () -> fpu.fcvtLD(d(1.5), RNE));
            check(-2, NX, () -> fpu.fcvtLD(d(-1.5), RMM));
            check(-1, NX, () -> fpu.fcvtLD(d(-1.5), RTZ));
            check(-2, NX, () -> fpu.fcvtLD(d(-1.000001), RDN));
            check(2, NX, () -> fpu.fcvtLD(d(1.000001), RUP));
            check(1L << 52, 0, () -> fpu.fcvtLD(d(0x1p52), RUP));
        }

        @Test
        void fromInteger() {
            check(d(-2147483648.0), 0, () -> fpu.fcvtDW(0x7777_7777_8000_0000L, RNE));
            check(d(4294967295.0), 0, () -> fpu.fcvtDWU(-1L, RNE));
            check(d(0x1p53), NX, () -> fpu.fcvtDL((1L << 53) + 1, RNE));
            check(d(0x1p53 + 2), NX, () -> fpu.fcvtDL((1L << 53) + 1, RUP));
            check(d(0x1p53 + 4), NX, () -> fpu.fcvtDL((1L << 53) + 3, RNE));
            check(d(0x1p53 + 2), NX, () -> fpu.fcvtDL((1L << 53) + 3, RTZ));
            check(d(-0x1p53 - 2), NX, () -> fpu.fcvtDL(-(1L << 53) - 1, RDN));
            check(d(-0x1p63), 0, () -> fpu.fcvtDL(Long.MIN_VALUE, RNE));
            check(d(0x1p63), NX, () -> fpu.fcvtDL(Long.MAX_VALUE, RNE));
            check(d(Math.nextDown(0x1p63)), NX, () -> fpu.fcvtDL(Long.MAX_VALUE, RTZ));
            check(d(0x1p64), NX, () -> fpu.fcvtDLU(-1L, RNE));
            check(d(Math.nextDown(0x1p64)), NX, () -> fpu.fcvtDLU(-1L, RDN));
            check(d(0x1p63), 0, () -> fpu.fcvtDLU(Long.MIN_VALUE, RDN));
            check(d(0.0), 0, () -> fpu.fcvtDLU(0, RDN));
            check(d(0.0), 0, () -> fpu.fcvtDL(0, RDN));
        }
    }

    // ================================================================== exact reference

    /** Binary format parameters for the reference. */
    record Fmt(int p, int emin, int emax, boolean dbl) {
        static final Fmt S = new Fmt(24, -126, 127, false);
        static final Fmt D = new Fmt(53, -1022, 1023, true);
    }

    /** A nonnegative exact real, queried as floor(x / 2^s) plus where the fraction falls. */
    interface Exact {
        /** [0]=floor(x/2^s), [1]=0 if exact, 1 below half, 2 at half, 3 above half. */
        BigInteger[] scaled(int s);

        int expGuess();
    }

    static BigInteger[] cls(BigInteger q, int c) {
        return new BigInteger[] {q, BigInteger.valueOf(c)};
    }

    record Dyadic(BigInteger n, int k) implements Exact {
        public BigInteger[] scaled(int s) {
            int sh = k - s;
            if (sh >= 0) {
                return cls(n.shiftLeft(sh), 0);
            }
            BigInteger q = n.shiftRight(-sh);
            BigInteger r = n.subtract(q.shiftLeft(-sh));
            BigInteger half = BigInteger.ONE.shiftLeft(-sh - 1);
            return cls(q, r.signum() == 0 ? 0 : 2 + r.compareTo(half));
        }

        public int expGuess() {
            return n.bitLength() - 1 + k;
        }
    }

    record Ratio(BigInteger n, BigInteger d, int k) implements Exact {
        public BigInteger[] scaled(int s) {
            BigInteger num = k - s >= 0 ? n.shiftLeft(k - s) : n;
            BigInteger den = k - s < 0 ? d.shiftLeft(s - k) : d;
            BigInteger[] qr = num.divideAndRemainder(den);
            return cls(qr[0], qr[1].signum() == 0 ? 0 : 2 + qr[1].shiftLeft(1).compareTo(den));
        }

        public int expGuess() {
            return n.bitLength() - d.bitLength() + k;
        }
    }

    /** sqrt(n * 2^k). */
    record Sqrt(BigInteger n, int k) implements Exact {
        public BigInteger[] scaled(int s) {
            // x / 2^s = sqrt(A) / 2^h with integer A and h >= 0.
            int t = 2 * s - k;
            BigInteger a;
            int h;
            if (t <= 0) {
                a = n.shiftLeft(-t);
                h = 0;
            } else if ((t & 1) == 1) {
                a = n.shiftLeft(1);
                h = (t + 1) / 2;
            } else {
                a = n;
                h = t / 2;
            }
            BigInteger q = a.sqrt().shiftRight(h);
            BigInteger lowSq = q.multiply(q).shiftLeft(2 * h);
            if (a.equals(lowSq)) {
                return cls(q, 0);
            }
            BigInteger two1 = q.shiftLeft(1).add(BigInteger.ONE);
            int c = a.shiftLeft(2).compareTo(two1.multiply(two1).shiftLeft(2 * h));
            return cls(q, 2 + c);
        }

        public int expGuess() {
            return Math.floorDiv(n.bitLength() - 1 + k, 2);
        }
    }

    static final class Ref {
        int flags;

        static boolean up(BigInteger q, int c, boolean neg, int rm) {
            if (c == 0) return false;
            return switch (rm) {
                case RNE -> c == 3 || (c == 2 && q.testBit(0));
                case RTZ -> false;
                case RDN -> neg;
                case RUP -> !neg;
                default -> c >= 2;
            };
        }

        /** Rounds a nonzero exact value; returns raw bits (single: low 32 bits). */
        long round(boolean neg, Exact x, int rm, Fmt f) {
            int e = x.expGuess();
            while (x.scaled(e)[0].signum() == 0) e--;
            while (x.scaled(e)[0].compareTo(BigInteger.TWO) >= 0) e++;
            // Unbounded-exponent rounding decides overflow and tininess.
            int s = e - (f.p - 1);
            BigInteger[] u = x.scaled(s);
            BigInteger qu = u[0];
            if (up(qu, u[1].intValue(), neg, rm)) qu = qu.add(BigInteger.ONE);
            int eu = qu.bitLength() > f.p ? e + 1 : e;
            if (eu > f.emax) {
                flags |= OF | NX;
                boolean inf = rm == RNE || rm == RMM || (neg ? rm == RDN : rm == RUP);
                double v = inf ? Double.POSITIVE_INFINITY : (f.dbl ? Double.MAX_VALUE : Float.MAX_VALUE);
                return enc(neg ? -v : v, f);
            }
            boolean tiny = eu < f.emin;
            int s2 = Math.max(e, f.emin) - (f.p - 1);
            BigInteger[] b = x.scaled(s2);
            BigInteger q = b[0];
            if (up(q, b[1].intValue(), neg, rm)) q = q.add(BigInteger.ONE);
            if (b[1].intValue() != 0) {
                flags |= NX;
                if (tiny) flags |= UF;
            }
            double v = Math.scalb(q.doubleValue(), s2);
            return enc(neg ? -v : v, f);
        }

        static long enc(double v, Fmt f) {
            return f.dbl ? Double.doubleToRawLongBits(v) : Float.floatToRawIntBits((float) v) & 0xFFFF_FFFFL;
        }

        // ---- decoding of raw operands (single: already unboxed 32 bits)

        static boolean isNaN(long bits, Fmt f) {
            return f.dbl ? Double.isNaN(Double.longBitsToDouble(bits)) : Float.isNaN(Float.intBitsToFloat((int) bits));
        }

        static boolean isSNaN(long bits, Fmt f) {
            return isNaN(bits, f) && (bits & (f.dbl ? 1L << 51 : 1L << 22)) == 0;
        }

        static double val(long bits, Fmt f) {
            return f.dbl ? Double.longBitsToDouble(bits) : Float.intBitsToFloat((int) bits);
        }

        static boolean neg(long bits, Fmt f) {
            return (bits & (f.dbl ? Long.MIN_VALUE : 0x8000_0000L)) != 0;
        }

        /** Signed integer significand n and exponent k with value n * 2^k (finite input). */
        static BigInteger sig(long bits, Fmt f) {
            long m = f.dbl ? bits & 0xf_ffff_ffff_ffffL : bits & 0x7f_ffffL;
            long be = f.dbl ? (bits >>> 52) & 0x7ff : (bits >>> 23) & 0xff;
            if (be != 0) m |= f.dbl ? 1L << 52 : 1L << 23;
            BigInteger n = BigInteger.valueOf(m);
            return neg(bits, f) ? n.negate() : n;
        }

        static int exp(long bits, Fmt f) {
            long be = f.dbl ? (bits >>> 52) & 0x7ff : (bits >>> 23) & 0xff;
            if (be == 0) be = 1;
            return (int) be - (f.dbl ? 1075 : 150);
        }

        long canon(Fmt f) {
            return f.dbl ? CNAN_D : 0x7fc00000L;
        }

        long zero(boolean neg, Fmt f) {
            return neg ? (f.dbl ? Long.MIN_VALUE : 0x8000_0000L) : 0;
        }

        /** Rounds the exact signed dyadic value n*2^k; zero gets the given sign. */
        long roundSigned(BigInteger n, int k, boolean zeroNeg, int rm, Fmt f) {
            if (n.signum() == 0) return zero(zeroNeg, f);
            return round(n.signum() < 0, new Dyadic(n.abs(), k), rm, f);
        }

        long add(long a, long b, int rm, Fmt f) {
            if (isNaN(a, f) || isNaN(b, f)) {
                if (isSNaN(a, f) || isSNaN(b, f)) flags |= NV;
                return canon(f);
            }
            double x = val(a, f), y = val(b, f);
            if (Double.isInfinite(x) || Double.isInfinite(y)) {
                double r = x + y;
                if (Double.isNaN(r)) {
                    flags |= NV;
                    return canon(f);
                }
                return enc(r, f);
            }
            int ka = exp(a, f), kb = exp(b, f), k = Math.min(ka, kb);
            BigInteger n = sig(a, f).shiftLeft(ka - k).add(sig(b, f).shiftLeft(kb - k));
            boolean zeroNeg = (x == 0 && y == 0 && neg(a, f) && neg(b, f)) || (rm == RDN && !(x == 0 && y == 0 && !neg(a, f) && !neg(b, f)));
            return roundSigned(n, k, zeroNeg, rm, f);
        }

        long mul(long a, long b, int rm, Fmt f) {
            if (isNaN(a, f) || isNaN(b, f)) {
                if (isSNaN(a, f) || isSNaN(b, f)) flags |= NV;
                return canon(f);
            }
            double x = val(a, f), y = val(b, f);
            if (Double.isInfinite(x) || Double.isInfinite(y) || x == 0 || y == 0) {
                double r = x * y;
                if (Double.isNaN(r)) {
                    flags |= NV;
                    return canon(f);
                }
                return enc(r, f);
            }
            return roundSigned(sig(a, f).multiply(sig(b, f)), exp(a, f) + exp(b, f), false, rm, f);
        }

        long div(long a, long b, int rm, Fmt f) {
            if (isNaN(a, f) || isNaN(b, f)) {
                if (isSNaN(a, f) || isSNaN(b, f)) flags |= NV;
                return canon(f);
            }
            double x = val(a, f), y = val(b, f);
            if (Double.isInfinite(x) || Double.isInfinite(y) || x == 0 || y == 0) {
                double r = x / y;
                if (Double.isNaN(r)) {
                    flags |= NV;
                    return canon(f);
                }
                if (y == 0 && !Double.isInfinite(x)) flags |= DZ;
                return enc(r, f);
            }
            BigInteger n = sig(a, f), m = sig(b, f);
            return round(n.signum() * m.signum() < 0, new Ratio(n.abs(), m.abs(), exp(a, f) - exp(b, f)), rm, f);
        }

        long sqrt(long a, int rm, Fmt f) {
            if (isNaN(a, f)) {
                if (isSNaN(a, f)) flags |= NV;
                return canon(f);
            }
            double x = val(a, f);
            if (x == 0 || x == Double.POSITIVE_INFINITY) return a;
            if (x < 0) {
                flags |= NV;
                return canon(f);
            }
            return round(false, new Sqrt(sig(a, f), exp(a, f)), rm, f);
        }

        long fma(long a, long b, long c, int rm, Fmt f) {
            double x = val(a, f), y = val(b, f), z = val(c, f);
            boolean infZero = (Double.isInfinite(x) && y == 0) || (x == 0 && Double.isInfinite(y));
            if (isNaN(a, f) || isNaN(b, f) || isNaN(c, f) || infZero) {
                if (isSNaN(a, f) || isSNaN(b, f) || isSNaN(c, f) || infZero) flags |= NV;
                return canon(f);
            }
            if (Double.isInfinite(x) || Double.isInfinite(y) || Double.isInfinite(z)) {
                double r = Math.fma(x, y, z);
                if (Double.isNaN(r)) {
                    flags |= NV;
                    return canon(f);
                }
                return enc(r, f);
            }
            BigInteger p = sig(a, f).multiply(sig(b, f));
            int kp = exp(a, f) + exp(b, f), kc = exp(c, f), k = Math.min(kp, kc);
            BigInteger n = p.shiftLeft(kp - k).add(sig(c, f).shiftLeft(kc - k));
            boolean pNeg = neg(a, f) != neg(b, f);
            boolean bothZero = p.signum() == 0 && z == 0;
            boolean zeroNeg = bothZero && pNeg == neg(c, f) ? pNeg : rm == RDN;
            return roundSigned(n, k, zeroNeg, rm, f);
        }

        static final BigInteger[][] RANGE = {
            {BigInteger.valueOf(Integer.MIN_VALUE), BigInteger.valueOf(Integer.MAX_VALUE)},
            {BigInteger.ZERO, BigInteger.ONE.shiftLeft(32).subtract(BigInteger.ONE)},
            {BigInteger.valueOf(Long.MIN_VALUE), BigInteger.valueOf(Long.MAX_VALUE)},
            {BigInteger.ZERO, BigInteger.ONE.shiftLeft(64).subtract(BigInteger.ONE)},
        };

        /** kind: 0=W 1=WU 2=L 3=LU. */
        long toInt(long a, int rm, int kind, Fmt f) {
            BigInteger lo = RANGE[kind][0], hi = RANGE[kind][1];
            BigInteger v;
            if (isNaN(a, f)) {
                flags |= NV;
                v = hi;
            } else if (Double.isInfinite(val(a, f))) {
                flags |= NV;
                v = val(a, f) < 0 ? lo : hi;
            } else {
                BigInteger n = sig(a, f);
                BigInteger[] sc = new Dyadic(n.abs(), exp(a, f)).scaled(0);
                BigInteger q = sc[0];
                if (up(q, sc[1].intValue(), n.signum() < 0, rm)) q = q.add(BigInteger.ONE);
                if (n.signum() < 0) q = q.negate();
                if (q.compareTo(lo) < 0) {
                    flags |= NV;
                    v = lo;
                } else if (q.compareTo(hi) > 0) {
                    flags |= NV;
                    v = hi;
                } else {
                    v = q;
                    if (sc[1].intValue() != 0) flags |= NX;
                }
            }
            long r = v.longValue(); // two's complement low 64 bits
            return kind < 2 ? (long) (int) r : r;
        }

        long fromInt(long x, int kind, int rm, Fmt f) {
            BigInteger v = switch (kind) {
                case 0 -> BigInteger.valueOf((int) x);
                case 1 -> BigInteger.valueOf(x & 0xFFFF_FFFFL);
                case 2 -> BigInteger.valueOf(x);
                default -> new BigInteger(Long.toUnsignedString(x));
            };
            return roundSigned(v, 0, false, rm, f);
        }

        long convert(long a, int rm, Fmt from, Fmt to) {
            if (isNaN(a, from)) {
                if (isSNaN(a, from)) flags |= NV;
                return canon(to);
            }
            double x = val(a, from);
            if (Double.isInfinite(x) || x == 0) return enc(x, to);
            return round(x < 0, new Dyadic(sig(a, from).abs(), exp(a, from)), rm, to);
        }
    }

    // ================================================================== random operands

    static final long[] SPECIAL_D = {
        d(0.0), d(-0.0), d(1), d(-1), d(Double.MIN_VALUE), d(-Double.MIN_VALUE), d(Double.MIN_NORMAL),
        d(Math.nextDown(Double.MIN_NORMAL)), d(Double.MAX_VALUE), d(-Double.MAX_VALUE),
        d(Double.POSITIVE_INFINITY), d(Double.NEGATIVE_INFINITY), CNAN_D, QNAN_D, SNAN_D,
        d(0x1p31), d(-0x1p31), d(0x1p63), d(-0x1p63), d(0x1p64), d(0x1p32), d(0.5), d(-0.5), d(2.5),
    };

    static final int[] SPECIAL_S = {
        0, 0x80000000, 0x3f800000, 0xbf800000, 1, 0x80000001, 0x00800000, 0x007fffff, 0x7f7fffff,
        0xff7fffff, 0x7f800000, 0xff800000, 0x7fc00000, 0x7fc12345, 0x7f812345, 0xff812345,
        0x4f000000, 0xcf000000, 0x5f000000, 0xdf000000, 0x5f800000, 0x4f800000, 0x3f000000, 0x40200000,
    };

    /** A double with a random sign/significand and an exponent drawn from edge-heavy ranges. */
    static long randD(SplittableRandom r) {
        int pick = r.nextInt(100);
        if (pick < 6) return SPECIAL_D[r.nextInt(SPECIAL_D.length)];
        long sign = r.nextBoolean() ? Long.MIN_VALUE : 0;
        long frac = randFrac(r, 52);
        int be;
        if (pick < 30) be = r.nextInt(2047); // anywhere finite
        else if (pick < 60) be = 1023 + r.nextInt(-70, 70); // ordinary
        else if (pick < 75) be = r.nextInt(0, 60); // subnormal and tiny
        else if (pick < 85) be = 2046 - r.nextInt(60); // huge
        else be = 1023 + r.nextInt(-1100, 1100) / 2; // clustered both ways
        be = Math.max(0, Math.min(2046, be));
        return sign | ((long) be << 52) | frac;
    }

    static int randS(SplittableRandom r) {
        int pick = r.nextInt(100);
        if (pick < 6) return SPECIAL_S[r.nextInt(SPECIAL_S.length)];
        int sign = r.nextBoolean() ? 0x80000000 : 0;
        int frac = (int) randFrac(r, 23);
        int be;
        if (pick < 30) be = r.nextInt(255);
        else if (pick < 60) be = 127 + r.nextInt(-30, 30);
        else if (pick < 75) be = r.nextInt(0, 30);
        else if (pick < 85) be = 254 - r.nextInt(30);
        else be = 127 + r.nextInt(-130, 130);
        be = Math.max(0, Math.min(254, be));
        return sign | (be << 23) | frac;
    }

    /** Fractions with runs of ones/zeros so that ties and carries actually happen. */
    static long randFrac(SplittableRandom r, int bits) {
        long mask = (1L << bits) - 1;
        switch (r.nextInt(5)) {
            case 0:
                return r.nextLong() & mask;
            case 1:
                return (r.nextLong() & mask) & (-1L << r.nextInt(bits)); // few low bits
            case 2:
                return mask & ~((1L << r.nextInt(bits)) - 1) | (r.nextInt(4)); // ones then noise
            case 3:
                return r.nextInt(16);
            default:
                return mask ^ (r.nextInt(16));
        }
    }

    /** Second operand correlated with the first to provoke cancellation and boundary results. */
    static long pairD(SplittableRandom r, long a, int op) {
        int pick = r.nextInt(10);
        if (pick < 4 || (a & 0x7ff0000000000000L) == 0x7ff0000000000000L) return randD(r);
        int ea = (int) ((a >>> 52) & 0x7ff);
        long sign = r.nextBoolean() ? Long.MIN_VALUE : 0;
        int be;
        if (pick < 6) {
            // near a: cancellation / ties
            long b = a ^ (r.nextBoolean() ? Long.MIN_VALUE : 0);
            return b + r.nextInt(-3, 4) ^ (r.nextBoolean() ? (1L << r.nextInt(52)) : 0);
        } else if (op == 1) { // mul: land near the subnormal boundary or overflow
            int target = r.nextBoolean() ? r.nextInt(-60, 4) : 2046 + r.nextInt(-2, 3);
            be = target - ea + 1023;
        } else if (op == 2) { // div
            int target = r.nextBoolean() ? r.nextInt(-60, 4) : 2046 + r.nextInt(-2, 3);
            be = ea - target + 1023;
        } else {
            be = ea + r.nextInt(-60, 60);
        }
        be = Math.max(0, Math.min(2046, be));
        return sign | ((long) be << 52) | randFrac(r, 52);
    }

    static int pairS(SplittableRandom r, int a, int op) {
        int pick = r.nextInt(10);
        if (pick < 4 || (a & 0x7f800000) == 0x7f800000) return randS(r);
        int ea = (a >>> 23) & 0xff;
        int sign = r.nextBoolean() ? 0x80000000 : 0;
        int be;
        if (pick < 6) {
            int b = a ^ (r.nextBoolean() ? 0x80000000 : 0);
            return b + r.nextInt(-3, 4) ^ (r.nextBoolean() ? (1 << r.nextInt(23)) : 0);
        } else if (op == 1) {
            int target = r.nextBoolean() ? r.nextInt(-30, 4) : 254 + r.nextInt(-2, 3);
            be = target - ea + 127;
        } else if (op == 2) {
            int target = r.nextBoolean() ? r.nextInt(-30, 4) : 254 + r.nextInt(-2, 3);
            be = ea - target + 127;
        } else {
            be = ea + r.nextInt(-30, 30);
        }
        be = Math.max(0, Math.min(254, be));
        return sign | (be << 23) | (int) randFrac(r, 23);
    }

    /** Addend near -(a*b) (rounded, then nudged) so fused ops cancel deeply. */
    static long addendD(SplittableRandom r, long a, long b) {
        if (r.nextInt(3) == 0) return pairD(r, a, 0);
        double p = -(Double.longBitsToDouble(a) * Double.longBitsToDouble(b));
        if (Double.isNaN(p) || Double.isInfinite(p)) return randD(r);
        long bits = Double.doubleToRawLongBits(p) + r.nextInt(-2, 3);
        if (r.nextBoolean()) bits = Double.doubleToRawLongBits(Math.scalb(Double.longBitsToDouble(bits), r.nextInt(-60, 60)));
        return bits;
    }

    static int addendS(SplittableRandom r, int a, int b) {
        if (r.nextInt(3) == 0) return pairS(r, a, 0);
        double p = -((double) Float.intBitsToFloat(a) * Float.intBitsToFloat(b));
        float pf = (float) p;
        if (Float.isNaN(pf) || Float.isInfinite(pf)) return randS(r);
        int bits = Float.floatToRawIntBits(pf) + r.nextInt(-2, 3);
        if (r.nextBoolean()) bits = Float.floatToRawIntBits(Math.scalb(Float.intBitsToFloat(bits), r.nextInt(-30, 30)));
        return bits;
    }

    static long randInt(SplittableRandom r) {
        return switch (r.nextInt(6)) {
            case 0 -> r.nextLong();
            case 1 -> r.nextLong() >> r.nextInt(64);
            case 2 -> r.nextLong() >>> r.nextInt(64);
            case 3 -> (1L << r.nextInt(64)) + r.nextInt(-3, 4);
            case 4 -> -(1L << r.nextInt(64)) + r.nextInt(-3, 4);
            default -> (r.nextLong() >>> r.nextInt(64)) & ~((1L << r.nextInt(40)) - 1);
        };
    }

    /** Floats that are near-integers or near the integer conversion limits. */
    static long intishD(SplittableRandom r) {
        if (r.nextInt(3) > 0) return randD(r);
        double base = switch (r.nextInt(4)) {
            case 0 -> 0x1p31;
            case 1 -> 0x1p63;
            case 2 -> 0x1p32;
            default -> r.nextInt(-5, 6);
        };
        double v = (r.nextBoolean() ? -base : base) + r.nextInt(-3, 4) * (r.nextBoolean() ? 0.5 : 0.25);
        long bits = Double.doubleToRawLongBits(v) + r.nextInt(-2, 3);
        return bits;
    }

    static int intishS(SplittableRandom r) {
        if (r.nextInt(3) > 0) return randS(r);
        float base = switch (r.nextInt(4)) {
            case 0 -> 0x1p31f;
            case 1 -> 0x1p63f;
            case 2 -> 0x1p32f;
            default -> r.nextInt(-5, 6);
        };
        float v = (r.nextBoolean() ? -base : base) + r.nextInt(-3, 4) * (r.nextBoolean() ? 0.5f : 0.25f);
        return Float.floatToRawIntBits(v) + r.nextInt(-2, 3);
    }

    // ================================================================== differential test

    static final String[] OPS = {
        "add", "sub", "mul", "div", "sqrt", "fmadd", "fmsub", "fnmsub", "fnmadd", "cvt.w", "cvt.wu",
        "cvt.l", "cvt.lu", "cvt.from.w", "cvt.from.wu", "cvt.from.l", "cvt.from.lu", "cvt.sd/ds",
    };

    @Test
    void randomizedDifferentialAgainstExactReference() {
        long seed = Long.getLong("fpu.seed", 0x5eed_f00d_2025L);
        int n = Integer.getInteger("fpu.cases", 400_000);
        System.out.printf("FpuTest differential: seed=0x%x cases=%d%n", seed, n);
        SplittableRandom r = new SplittableRandom(seed);
        Ref ref = new Ref();
        int failures = 0;
        StringBuilder report = new StringBuilder();
        for (int i = 0; i < n && failures < 20; i++) {
            int op = r.nextInt(OPS.length);
            boolean dbl = r.nextBoolean();
            int rm = ALL_RM[r.nextInt(5)];
            Fmt f = dbl ? Fmt.D : Fmt.S;
            long a, b = 0, c = 0;
            if (op >= 13 && op <= 16) {
                a = randInt(r);
            } else if (op >= 9 && op <= 12) {
                a = dbl ? intishD(r) : intishS(r) & 0xFFFF_FFFFL;
            } else if (dbl) {
                a = randD(r);
                b = pairD(r, a, op == 2 ? 1 : op == 3 ? 2 : 0);
                c = addendD(r, a, b);
            } else {
                a = randS(r) & 0xFFFF_FFFFL;
                b = pairS(r, (int) a, op == 2 ? 1 : op == 3 ? 2 : 0) & 0xFFFF_FFFFL;
                c = addendS(r, (int) a, (int) b) & 0xFFFF_FFFFL;
            }
            long ra = a, rb = b, rc = c; // reference operands (singles unboxed)
            long fa = a, fb = b, fc = c; // Fpu operands (singles boxed)
            if (!dbl && (op < 13 || op == 17)) {
                fa = box(a, r);
                fb = BOX | b;
                fc = BOX | c;
                if (fa != (BOX | a)) ra = 0x7fc00000L; // improperly boxed: canonical NaN
            }
            final long signC = dbl ? Long.MIN_VALUE : 0x8000_0000L;
            ref.flags = 0;
            long exp;
            long got;
            fpu.fflags = 0;
            switch (op) {
                case 0 -> {
                    exp = ref.add(ra, rb, rm, f);
                    got = dbl ? fpu.addD(fa, fb, rm) : fpu.addS(fa, fb, rm);
                }
                case 1 -> {
                    exp = ref.add(ra, rb ^ signC, rm, f);
                    got = dbl ? fpu.subD(fa, fb, rm) : fpu.subS(fa, fb, rm);
                }
                case 2 -> {
                    exp = ref.mul(ra, rb, rm, f);
                    got = dbl ? fpu.mulD(fa, fb, rm) : fpu.mulS(fa, fb, rm);
                }
                case 3 -> {
                    exp = ref.div(ra, rb, rm, f);
                    got = dbl ? fpu.divD(fa, fb, rm) : fpu.divS(fa, fb, rm);
                }
                case 4 -> {
                    long x = r.nextInt(4) == 0 ? ra : ra & ~signC; // mostly positive
                    long fx = dbl ? x : (ra == 0x7fc00000L ? fa : BOX | x);
                    exp = ref.sqrt(x, rm, f);
                    got = dbl ? fpu.sqrtD(fx, rm) : fpu.sqrtS(fx, rm);
                }
                case 5 -> {
                    exp = ref.fma(ra, rb, rc, rm, f);
                    got = dbl ? fpu.fmaddD(fa, fb, fc, rm) : fpu.fmaddS(fa, fb, fc, rm);
                }
                case 6 -> {
                    exp = ref.fma(ra, rb, rc ^ signC, rm, f);
                    got = dbl ? fpu.fmsubD(fa, fb, fc, rm) : fpu.fmsubS(fa, fb, fc, rm);
                }
                case 7 -> {
                    exp = ref.fma(ra ^ signC, rb, rc, rm, f);
                    got = dbl ? fpu.fnmsubD(fa, fb, fc, rm) : fpu.fnmsubS(fa, fb, fc, rm);
                }
                case 8 -> {
                    exp = ref.fma(ra ^ signC, rb, rc ^ signC, rm, f);
                    got = dbl ? fpu.fnmaddD(fa, fb, fc, rm) : fpu.fnmaddS(fa, fb, fc, rm);
                }
                case 9, 10, 11, 12 -> {
                    int kind = op - 9;
                    exp = ref.toInt(ra, rm, kind, f);
                    got = switch (kind) {
                        case 0 -> dbl ? fpu.fcvtWD(fa, rm) : fpu.fcvtWS(fa, rm);
                        case 1 -> dbl ? fpu.fcvtWUD(fa, rm) : fpu.fcvtWUS(fa, rm);
                        case 2 -> dbl ? fpu.fcvtLD(fa, rm) : fpu.fcvtLS(fa, rm);
                        default -> dbl ? fpu.fcvtLUD(fa, rm) : fpu.fcvtLUS(fa, rm);
                    };
                }
                case 13, 14, 15, 16 -> {
                    int kind = op - 13;
                    exp = ref.fromInt(a, kind, rm, f);
                    got = switch (kind) {
                        case 0 -> dbl ? fpu.fcvtDW(a, rm) : fpu.fcvtSW(a, rm);
                        case 1 -> dbl ? fpu.fcvtDWU(a, rm) : fpu.fcvtSWU(a, rm);
                        case 2 -> dbl ? fpu.fcvtDL(a, rm) : fpu.fcvtSL(a, rm);
                        default -> dbl ? fpu.fcvtDLU(a, rm) : fpu.fcvtSLU(a, rm);
                    };
                }
                default -> {
                    if (dbl) { // fcvt.s.d from a random double
                        exp = ref.convert(ra, rm, Fmt.D, Fmt.S);
                        got = fpu.fcvtSD(fa, rm);
                    } else { // fcvt.d.s
                        exp = ref.convert(ra, rm, Fmt.S, Fmt.D);
                        got = fpu.fcvtDS(fa);
                    }
                }
            }
            boolean singleResult = !dbl && op < 9 || (op >= 13 && op <= 16 && !dbl) || (op == 17 && dbl);
            if (singleResult) exp = BOX | exp;
            if (got != exp || fpu.fflags != ref.flags) {
                failures++;
                report.append(String.format("#%d %s%s rm=%d a=%016x b=%016x c=%016x: expected %016x %s, got %016x %s%n",
                        i, OPS[op], dbl ? ".d" : ".s", rm, fa, fb, fc, exp, fl(ref.flags), got, fl(fpu.fflags)));
            }
        }
        assertEquals(0, failures, () -> "seed=0x" + Long.toHexString(seed) + "\n" + report);
    }

    /** Mostly properly boxed; now and then a single with a broken box (must read as canonical NaN). */
    static long box(long a, SplittableRandom r) {
        if (r.nextInt(200) == 0) return a | (r.nextLong() & 0x7FFF_FFFF_0000_0000L);
        return BOX | a;
    }

    // ================================================================== reference self-checks

    @Test
    void referenceAgreesWithHostInRoundToNearest() {
        // The host is IEEE RNE; sanity-check the reference against it where no flags are involved.
        SplittableRandom r = new SplittableRandom(42);
        Ref ref = new Ref();
        for (int i = 0; i < 20_000; i++) {
            long a = randD(r), b = pairD(r, a, 0);
            double x = Double.longBitsToDouble(a), y = Double.longBitsToDouble(b);
            if (Double.isNaN(x) || Double.isNaN(y)) continue;
            double[] host = {x + y, x * y, x / y, Math.sqrt(Math.abs(x)), Math.fma(x, y, x)};
            long[] want = {ref.add(a, b, RNE, Fmt.D), ref.mul(a, b, RNE, Fmt.D), ref.div(a, b, RNE, Fmt.D),
                ref.sqrt(a & Long.MAX_VALUE, RNE, Fmt.D), ref.fma(a, b, a, RNE, Fmt.D)};
            for (int k = 0; k < host.length; k++) {
                if (Double.isNaN(host[k])) {
                    assertEquals(CNAN_D, want[k]);
                } else {
                    assertEquals(Double.doubleToRawLongBits(host[k]), want[k], "op " + k + " " + x + " " + y);
                }
            }
        }
    }

    // ================================================================== recorded QEMU vectors

    /**
     * Replays vectors recorded once by running real riscv64 instructions under qemu-user, an
     * independent FPU model (see the file's header). Each line: op rm a b c result fflags.
     */
    @Test
    void recordedRiscvVectors() throws IOException {
        InputStream raw = FpuTest.class.getResourceAsStream("fpu-vectors.txt.gz");
        assertTrue(raw != null, "fpu-vectors.txt.gz missing from test resources");
        InputStream in = new GZIPInputStream(raw);
        int count = 0;
        int failures = 0;
        StringBuilder report = new StringBuilder();
        try (BufferedReader br = new BufferedReader(new InputStreamReader(in, StandardCharsets.US_ASCII))) {
            String line;
            while ((line = br.readLine()) != null) {
                if (line.isEmpty() || line.startsWith("#")) continue;
                String[] t = line.trim().split("\\s+");
                String op = t[0];
                int rm = Integer.parseInt(t[1]);
                long a = Long.parseUnsignedLong(t[2], 16);
                long b = Long.parseUnsignedLong(t[3], 16);
                long c = Long.parseUnsignedLong(t[4], 16);
                long want = Long.parseUnsignedLong(t[5], 16);
                int wantFlags = Integer.parseInt(t[6], 16);
                fpu.fflags = 0;
                long got = VectorOps.apply(fpu, op, rm, a, b, c);
                count++;
                if (got != want || fpu.fflags != wantFlags) {
                    if (failures++ < 20) {
                        report.append(line).append(" -> got ").append(Long.toHexString(got)).append(' ')
                                .append(Integer.toHexString(fpu.fflags)).append('\n');
                    }
                }
            }
        }
        System.out.printf("FpuTest recorded vectors: %d checked%n", count);
        assertTrue(count > 0);
        int bad = failures;
        assertEquals(0, bad, () -> bad + " mismatches\n" + report);
    }

    /** Maps vector-file op names onto Fpu methods. */
    static final class VectorOps {
        static long apply(Fpu f, String op, int rm, long a, long b, long c) {
            return switch (op) {
                case "fadd.s" -> f.addS(a, b, rm);
                case "fsub.s" -> f.subS(a, b, rm);
                case "fmul.s" -> f.mulS(a, b, rm);
                case "fdiv.s" -> f.divS(a, b, rm);
                case "fsqrt.s" -> f.sqrtS(a, rm);
                case "fmadd.s" -> f.fmaddS(a, b, c, rm);
                case "fmsub.s" -> f.fmsubS(a, b, c, rm);
                case "fnmsub.s" -> f.fnmsubS(a, b, c, rm);
                case "fnmadd.s" -> f.fnmaddS(a, b, c, rm);
                case "fmin.s" -> f.minS(a, b);
                case "fmax.s" -> f.maxS(a, b);
                case "feq.s" -> f.eqS(a, b);
                case "flt.s" -> f.ltS(a, b);
                case "fle.s" -> f.leS(a, b);
                case "fclass.s" -> f.classifyS(a);
                case "fsgnj.s" -> f.sgnjS(a, b);
                case "fsgnjn.s" -> f.sgnjnS(a, b);
                case "fsgnjx.s" -> f.sgnjxS(a, b);
                case "fsgnj.d" -> f.sgnjD(a, b);
                case "fsgnjn.d" -> f.sgnjnD(a, b);
                case "fsgnjx.d" -> f.sgnjxD(a, b);
                case "fmv.x.w" -> f.fmvXW(a);
                case "fmv.w.x" -> f.fmvWX(a);
                case "fcvt.w.s" -> f.fcvtWS(a, rm);
                case "fcvt.wu.s" -> f.fcvtWUS(a, rm);
                case "fcvt.l.s" -> f.fcvtLS(a, rm);
                case "fcvt.lu.s" -> f.fcvtLUS(a, rm);
                case "fcvt.s.w" -> f.fcvtSW(a, rm);
                case "fcvt.s.wu" -> f.fcvtSWU(a, rm);
                case "fcvt.s.l" -> f.fcvtSL(a, rm);
                case "fcvt.s.lu" -> f.fcvtSLU(a, rm);
                case "fcvt.s.d" -> f.fcvtSD(a, rm);
                case "fcvt.d.s" -> f.fcvtDS(a);
                case "fadd.d" -> f.addD(a, b, rm);
                case "fsub.d" -> f.subD(a, b, rm);
                case "fmul.d" -> f.mulD(a, b, rm);
                case "fdiv.d" -> f.divD(a, b, rm);
                case "fsqrt.d" -> f.sqrtD(a, rm);
                case "fmadd.d" -> f.fmaddD(a, b, c, rm);
                case "fmsub.d" -> f.fmsubD(a, b, c, rm);
                case "fnmsub.d" -> f.fnmsubD(a, b, c, rm);
                case "fnmadd.d" -> f.fnmaddD(a, b, c, rm);
                case "fmin.d" -> f.minD(a, b);
                case "fmax.d" -> f.maxD(a, b);
                case "feq.d" -> f.eqD(a, b);
                case "flt.d" -> f.ltD(a, b);
                case "fle.d" -> f.leD(a, b);
                case "fclass.d" -> f.classifyD(a);
                case "fcvt.w.d" -> f.fcvtWD(a, rm);
                case "fcvt.wu.d" -> f.fcvtWUD(a, rm);
                case "fcvt.l.d" -> f.fcvtLD(a, rm);
                case "fcvt.lu.d" -> f.fcvtLUD(a, rm);
                case "fcvt.d.w" -> f.fcvtDW(a, rm);
                case "fcvt.d.wu" -> f.fcvtDWU(a, rm);
                case "fcvt.d.l" -> f.fcvtDL(a, rm);
                case "fcvt.d.lu" -> f.fcvtDLU(a, rm);
                default -> throw new IllegalArgumentException("unknown op " + op);
            };
        }
    }
}
