/**
 * Disk images as logs of update records, with no dependence on the hypervisor.
 *
 * <p>An {@link dev.airlock.store.ImageStore} holds images; a {@link dev.airlock.store.DiskImage} is a
 * {@link dev.airlock.store.BlockDevice} whose writes, trims and zeroing become records (128-bit random id,
 * sequence number, CRC32C) appended to fixed-size segment files. Sealed segments end with a checksummed
 * summary, so opening an image reads footers and scans only the newest segment. The block map
 * ({@link dev.airlock.store.index.VersionIndex}) and the bit-sliced
 * {@link dev.airlock.store.bloom.BloomMatrix} (record id to candidate segments) are rebuilt from those
 * summaries. Snapshots are sequence numbers; clones read through to a base image's snapshot; cleaning
 * copies live records forward and drops segments once nothing needs them.
 *
 * <p>Every file operation goes through {@link dev.airlock.store.io.StoreFileSystem} so tests can lose
 * or tear unsynced writes; formats are described where they are encoded, in {@code dev.airlock.store.format}.
 */
package dev.airlock.store;
