package dev.airlock.guest.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.ByteArrayInputStream;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * Seeded fuzzing of every parser of agent-controlled bytes: random and mutated input may decode or
 * be rejected with an {@link AgentProtocolException}, nothing else (no other exception, no huge
 * allocation). A failure names its seed; rerun it with -Dairlock.fuzz.seed=SEED.
 */
class FrameFuzzTest {

    private static final long BASE_SEED = Long.getLong("airlock.fuzz.seed", 0x5EED_A6E7L);
    private static final int CASES = Integer.getInteger("airlock.fuzz.cases", 2_000);

    interface Parser {
        void parse(byte[] payload) throws AgentProtocolException;
    }

    private static final List<Parser> PARSERS = List.of(
            Messages::parseHostHello, Messages::parseAgentHello, Messages::parseExec, Messages::parseStarted,
            Messages::parseExit, Messages::parseError, Messages::parseWindow, Messages::parseSignal,
            Messages::parseFilePut, Messages::parseFileGet, p -> Messages.parseByteCount(p, "FILE_END"));

    @Test
    void randomBytesDecodeOrFailCleanly() {
        for (int i = 0; i < CASES; i++) {
            long seed = BASE_SEED + i;
            var random = new SplittableRandom(seed);
            byte[] bytes = new byte[random.nextInt(64)];
            random.nextBytes(bytes);
            if (random.nextBoolean() && bytes.length >= 5) {
                // Plausible headers get further into the decoder than pure noise.
                bytes[0] = bytes[1] = 0;
                bytes[4] = (byte) FrameType.values()[random.nextInt(FrameType.values().length)].code();
            }
            onlyProtocolErrors(seed, () -> {
                ByteBuffer buffer = ByteBuffer.wrap(bytes);
                while (FrameCodec.decode(buffer) != null) {
                    // keep decoding
                }
            });
            onlyProtocolErrors(seed, () -> {
                var channel = Channels.newChannel(new ByteArrayInputStream(bytes));
                ByteBuffer scratch = ByteBuffer.allocate(FrameCodec.HEADER_BYTES);
                while (FrameCodec.read(channel, scratch) != null) {
                    // keep reading
                }
            });
        }
    }

    @Test
    void randomPayloadsParseOrFailCleanly() {
        for (int i = 0; i < CASES; i++) {
            long seed = BASE_SEED + i;
            var random = new SplittableRandom(seed);
            byte[] payload = new byte[random.nextInt(48)];
            random.nextBytes(payload);
            for (Parser parser : PARSERS) {
                onlyProtocolErrors(seed, () -> parser.parse(payload));
            }
        }
    }

    @Test
    void mutatedValidMessagesParseOrFailCleanly() {
        List<byte[]> valid = List.of(
                Messages.exec(ExecRequest.of("sh", "-c", "echo hi").withEnv("A", "b").withCwd("/tmp").withStdin()),
                Messages.agentHello(new AgentHello(1, 0, 262144, 1 << 20, "airlock-agent 1.0")),
                Messages.error(new Messages.RemoteError(2, "nope")),
                Messages.filePut(new Messages.FilePut(0644, "/etc/x")),
                Messages.exit(ExitStatus.killedBy(9)));
        for (int i = 0; i < CASES; i++) {
            long seed = BASE_SEED + i;
            var random = new SplittableRandom(seed);
            byte[] payload = valid.get(random.nextInt(valid.size())).clone();
            for (int flips = 1 + random.nextInt(4); flips > 0; flips--) {
                payload[random.nextInt(payload.length)] = (byte) random.nextInt(256);
            }
            byte[] mutated = random.nextBoolean() ? payload : java.util.Arrays.copyOf(payload, random.nextInt(payload.length + 1));
            for (Parser parser : PARSERS) {
                onlyProtocolErrors(seed, () -> parser.parse(mutated));
            }
        }
    }

    @Test
    void randomFramesRoundTrip() throws Exception {
        for (int i = 0; i < CASES; i++) {
            long seed = BASE_SEED + i;
            var random = new SplittableRandom(seed);
            FrameType type = FrameType.values()[random.nextInt(FrameType.values().length)];
            byte[] payload = new byte[random.nextInt(300)];
            random.nextBytes(payload);
            var frame = new Frame(type, random.nextInt(), payload);
            ByteBuffer twice = ByteBuffer.allocate(2 * (FrameCodec.HEADER_BYTES + payload.length))
                    .put(FrameCodec.encode(frame)).put(FrameCodec.encode(frame)).flip();
            assertEquals(frame, FrameCodec.decode(twice), "seed " + seed);
            assertEquals(frame, FrameCodec.decode(twice), "seed " + seed);
            assertEquals(0, twice.remaining(), "seed " + seed);
        }
    }

    interface Action {
        void run() throws Exception;
    }

    private static void onlyProtocolErrors(long seed, Action action) {
        try {
            action.run();
        } catch (AgentProtocolException expected) {
            // a clean rejection
        } catch (Exception | Error e) {
            fail("seed " + seed + " (rerun with -Dairlock.fuzz.seed=" + seed + "): " + e, e);
        }
    }
}
