package dev.airlock.vmm.virtio;

import static org.junit.jupiter.api.Assertions.*;

import dev.airlock.vmm.testing.Allocations;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

class DeviceEventLoopTest {
    @Test
    void tasksRunOnTheLoopThreadNotTheCaller() throws Exception {
        try (DeviceEventLoop loop = DeviceEventLoop.start(2, "test-virtio")) {
            AtomicReference<String> thread = new AtomicReference<>();
            CountDownLatch ran = new CountDownLatch(1);
            DeviceEventLoop.Task t = loop.newTask(() -> {
                thread.set(Thread.currentThread().getName());
                ran.countDown();
            });
            t.schedule();
            assertTrue(ran.await(5, TimeUnit.SECONDS));
            assertTrue(thread.get().startsWith("test-virtio-"), thread.get());
        }
    }

    @Test
    void aTaskNeverRunsTwiceAtOnceAndAScheduleWhileRunningIsNotLost() throws Exception {
        try (DeviceEventLoop loop = DeviceEventLoop.start(2, "test-virtio")) {
            AtomicInteger inside = new AtomicInteger();
            AtomicInteger overlaps = new AtomicInteger();
            AtomicInteger runs = new AtomicInteger();
            DeviceEventLoop.Task t = loop.newTask(() -> {
                if (inside.incrementAndGet() > 1) overlaps.incrementAndGet();
                Thread.onSpinWait();
                runs.incrementAndGet();
                inside.decrementAndGet();
            });
            Thread[] producers = new Thread[3];
            for (int i = 0; i < producers.length; i++) {
                producers[i] = Thread.ofPlatform().start(() -> {
                    for (int k = 0; k < 20_000; k++) t.schedule();
                });
            }
            for (Thread p : producers) p.join();
            // The last schedule happened after some run started, so one more run follows it.
            int before = runs.get();
            t.schedule();
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
            while ((!t.isIdle() || runs.get() == before) && System.nanoTime() < deadline) Thread.sleep(1);
            assertTrue(runs.get() > before, "a schedule was lost");
            assertEquals(0, overlaps.get());
            assertEquals(0, loop.taskFailures());
        }
    }

    @Test
    void aFailingTaskIsCountedAndTheLoopGoesOn() throws Exception {
        try (DeviceEventLoop loop = DeviceEventLoop.start(1, "test-virtio")) {
            CountDownLatch ran = new CountDownLatch(1);
            DeviceEventLoop.Task bad = loop.newTask(() -> { throw new IllegalStateException("boom (expected by the test)"); });
            DeviceEventLoop.Task good = loop.newTask(ran::countDown);
            bad.schedule();
            good.schedule();
            assertTrue(ran.await(5, TimeUnit.SECONDS));
            assertEquals(1, loop.taskFailures());
        }
    }

    @Test
    void scheduleAllocatesNothing() throws Exception {
        try (DeviceEventLoop loop = DeviceEventLoop.start(1, "test-virtio")) {
            DeviceEventLoop.Task t = loop.newTask(() -> {});
            assertEquals(0, Allocations.bytesAllocatedBy(() -> {
                for (int i = 0; i < 10_000; i++) t.schedule();
            }));
        }
    }

    @Test
    void inlineLoopsRunAtOnceAndCoalesceReentrantSchedules() {
        DeviceEventLoop loop = DeviceEventLoop.inline();
        AtomicInteger runs = new AtomicInteger();
        DeviceEventLoop.Task[] self = new DeviceEventLoop.Task[1];
        self[0] = loop.newTask(() -> {
            if (runs.incrementAndGet() < 3) {
                self[0].schedule();
                self[0].schedule();
            }
        });
        self[0].schedule();
        assertEquals(3, runs.get());
        assertTrue(self[0].isIdle());
    }

    @Test
    void closeStopsTheThreads() throws Exception {
        DeviceEventLoop loop = DeviceEventLoop.start(2, "test-virtio-close");
        loop.close();
        assertTrue(Thread.getAllStackTraces().keySet().stream().noneMatch(t -> t.getName().startsWith("test-virtio-close")));
    }
}
