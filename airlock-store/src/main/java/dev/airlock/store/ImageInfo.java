package dev.airlock.store;

import dev.airlock.store.format.ImageManifest;
import java.util.List;

/** One line of `image ls`: an image, its size, its base if it is a clone, and its snapshots. */
public record ImageInfo(String name, long sizeBytes, long createdMillis, String baseImage, String baseSnapshot,
        List<ImageManifest.Snapshot> snapshots) {

    public boolean isClone() {
        return !baseImage.isEmpty();
    }
}
