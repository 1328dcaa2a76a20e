package org.ext4j.testing;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import org.junit.jupiter.api.Test;

/**
 * The crash model's judgements on hand-made trees: what it accepts after a crash in a given epoch,
 * and that it names each broken promise (lost fsynced data, a rename seen half done, stale bytes, a
 * synced name lost).
 */
class CrashModelTest {
    /** The flush count the model sees; tests move it by hand. */
    private int flushes;

    private CrashModel model() {
        return new CrashModel(() -> flushes, Map.of("/", 2L, "/lost+found", 11L));
    }

    private static Map<String, FsTree.Node> tree(Object... pathInoData) {
        Map<String, FsTree.Node> t = new TreeMap<>();
        t.put("/", new FsTree.Node("/", 'd', 0755, 3, 1024, 2, null));
        t.put("/lost+found", new FsTree.Node("/lost+found", 'd', 0700, 2, 12288, 11, null));
        for (int i = 0; i < pathInoData.length; i += 3) {
            byte[] data = (byte[]) pathInoData[i + 2];
            String path = (String) pathInoData[i];
            t.put(path, new FsTree.Node(path, 'f', 0644, 1, data.length, (Long) pathInoData[i + 1], data));
        }
        return t;
    }

    private static byte[] bytes(int n, int v) {
        byte[] b = new byte[n];
        java.util.Arrays.fill(b, (byte) v);
        return b;
    }

    @Test
    void fsyncedBytesMustSurviveAndLaterOnesMay() {
        CrashModel m = model();
        m.created(flushes, "/f", 12);
        m.wrote(flushes, 12, 0, bytes(100, 1));
        flushes = 1;
        m.fsynced(12);
        m.sync();
        m.wrote(flushes, 12, 50, bytes(100, 2)); // not synced
        assertEquals(List.of(), m.check(tree("/f", 12L, bytes(100, 1)), 1));
        byte[] later = new byte[150];
        System.arraycopy(bytes(50, 1), 0, later, 0, 50);
        System.arraycopy(bytes(100, 2), 0, later, 50, 100);
        assertEquals(List.of(), m.check(tree("/f", 12L, later), 1));
        List<String> lost = m.check(tree("/f", 12L, new byte[0]), 1);
        assertTrue(lost.size() == 1 && lost.get(0).contains("size 0"), lost.toString());
        byte[] stale = bytes(100, 1);
        stale[7] = 9;
        List<String> garbage = m.check(tree("/f", 12L, stale), 1);
        assertTrue(garbage.size() == 1 && garbage.get(0).contains("bytes 7..7"), garbage.toString());
        // before the fsync's flush, the empty file is a possible state
        assertEquals(List.of(), m.check(tree("/f", 12L, new byte[0]), 0));
    }

    @Test
    void aRenameIsSeenWholeOrNotAtAll() {
        CrashModel m = model();
        m.created(0, "/a", 12);
        m.created(0, "/b", 13);
        flushes = 1;
        m.sync();
        m.renamed(1, "/b", "/a");
        byte[] none = new byte[0];
        assertEquals(List.of(), m.check(tree("/a", 12L, none, "/b", 13L, none), 1));
        assertEquals(List.of(), m.check(tree("/a", 13L, none), 1));
        List<String> half = m.check(tree("/a", 13L, none, "/b", 13L, none), 1);
        assertTrue(half.size() == 1 && half.get(0).startsWith("namespace"), half.toString());
        List<String> neither = m.check(tree("/b", 13L, none), 1);
        assertTrue(neither.size() == 1 && neither.get(0).contains("missing /a"), neither.toString());
    }

    @Test
    void aSyncedNameMustSurviveAndALaterOneNeedNot() {
        CrashModel m = model();
        m.created(0, "/a", 12);
        flushes = 1;
        m.sync();
        m.created(1, "/b", 13);
        byte[] none = new byte[0];
        assertEquals(List.of(), m.check(tree("/a", 12L, none), 1));
        assertEquals(List.of(), m.check(tree("/a", 12L, none, "/b", 13L, none), 1));
        assertTrue(!m.check(tree(), 1).isEmpty(), "the synced /a is lost");
        assertEquals(List.of(), m.check(tree(), 0), "before the sync's flush nothing was promised");
        assertTrue(!m.check(tree("/a", 12L, none, "/b", 13L, none), 0).isEmpty(),
                "an operation begun after the crash cannot be on the disk");
    }

    @Test
    void aPunchedRangeReadsZeroOrWhatWasThere() {
        CrashModel m = model();
        m.created(0, "/f", 12);
        m.wrote(0, 12, 0, bytes(64, 5));
        m.fsynced(12);
        m.zeroed(0, 12, 16, 16);
        byte[] punched = bytes(64, 5);
        java.util.Arrays.fill(punched, 16, 32, (byte) 0);
        assertEquals(List.of(), m.check(tree("/f", 12L, punched), 0));
        assertEquals(List.of(), m.check(tree("/f", 12L, bytes(64, 5)), 0));
        m.resized(0, 12, 100);
        byte[] grown = java.util.Arrays.copyOf(punched, 100);
        assertEquals(List.of(), m.check(tree("/f", 12L, grown), 0));
        grown[99] = 1;
        assertTrue(!m.check(tree("/f", 12L, grown), 0).isEmpty(), "a byte past the old end that no version held");
    }
}
