import java.nio.file.Path;

import org.ext4j.fs.Ext4FileSystem;
import org.ext4j.fs.WriteOptions;

/**
 * Creates N empty files in one new directory of an image through the library (createFile, close),
 * the whole session timed from the open to the close that writes everything back.
 * Run: java -cp target/ext4j.jar scripts/CreateFiles.java IMAGE N [DIR]
 */
public class CreateFiles {
    public static void main(String[] args) throws Exception {
        Path image = Path.of(args[0]);
        int n = Integer.parseInt(args[1]);
        String dir = args.length > 2 ? args[2] : "d";
        long t0 = System.nanoTime();
        try (Ext4FileSystem fs = Ext4FileSystem.openReadWrite(image, WriteOptions.defaults())) {
            fs.mkdir(dir, 0755);
            for (int i = 1; i <= n; i++) {
                fs.createFile(dir + "/f" + i, 0644).close();
            }
        }
        System.out.printf("%d files: %.2f s%n", n, (System.nanoTime() - t0) / 1e9);
    }
}
