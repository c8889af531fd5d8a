package dev.airlock.vmm.virtio.vsock;

import static org.junit.jupiter.api.Assertions.*;

import dev.airlock.guest.agent.AgentClient;
import dev.airlock.guest.agent.AgentUnreachableException;
import dev.airlock.guest.assets.GuestAssets;
import dev.airlock.guest.initramfs.InitramfsBuilder;
import dev.airlock.vmm.Vm;
import dev.airlock.vmm.VmConfig;
import dev.airlock.vmm.sched.HartPool;
import dev.airlock.vmm.virtio.DeviceEventLoop;
import dev.airlock.vmm.virtio.VirtioMmioTransport;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;
import org.junit.jupiter.api.io.TempDir;

/** Boots the real Debian kernel with virtio-vsock and the agent in the initramfs, and talks to the agent. */
@EnabledIfSystemProperty(named = "airlock.systemTests", matches = "true")
class VsockSystemTest {
    static final String CMDLINE = VmConfig.BASE_CMDLINE + " quiet";

    static HartPool pool;
    static DeviceEventLoop loop;
    static byte[] initramfs;

    @BeforeAll
    static void setUp() {
        GuestAssets assets = GuestAssets.open();
        initramfs = assets.agentInitramfs(InitramfsBuilder.VIRTIO_MODULES);
        pool = new HartPool(2);
        loop = DeviceEventLoop.start(1, "airlock-virtio");
    }

    @AfterAll
    static void tearDown() {
        if (pool != null) pool.close();
        if (loop != null) loop.close();
    }

    static AgentClient connect(Path socket, Vm vm, ByteArrayOutputStream console) throws Exception {
        try {
            return AgentClient.awaitVsock(socket, Duration.ofSeconds(120), vm::hasEnded);
        } catch (AgentUnreachableException e) {
            return fail("no agent: " + e.getMessage() + "\nconsole:\n" + console.toString(StandardCharsets.UTF_8));
        }
    }

    @Test
    void theAgentAnswersOverVsock(@TempDir Path dir) throws Exception {
        ByteArrayOutputStream console = new ByteArrayOutputStream();
        GuestAssets assets = GuestAssets.open();
        VmConfig config = new VmConfig(1, 256L << 20, assets.kernelImage(), initramfs, CMDLINE, console);
        Vm vm = Vm.create(config, pool);
        var vsock = new VirtioVsock(3);
        var transport = new VirtioMmioTransport(vsock, vm.memory(), vm.virtioIrq(0), loop, vm.deviceWriteListener());
        Path socket = dir.resolve("vm.sock");
        try (var proxy = VsockUnixProxy.listen(vsock, socket)) {
            vm.attachVirtio(0, transport);
            vm.start();
            long t0 = System.nanoTime();
            try (AgentClient agent = connect(socket, vm, console)) {
                System.out.printf("agent after %.1f s%n", (System.nanoTime() - t0) / 1e9);
                var result = agent.run("sh", "-c", "echo hello from $(uname -m); exit 3");
                System.out.println(result);
                for (int i = 0; i < 20; i++) {
                    long s = System.nanoTime();
                    agent.run("true");
                    System.out.printf("exec true: %.2f ms%n", (System.nanoTime() - s) / 1e6);
                }
            }
        } finally {
            transport.close();
            vm.close();
            System.out.println(console.toString(StandardCharsets.UTF_8));
        }
    }
}
