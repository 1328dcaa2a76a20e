/**
 * The write path's races, made runnable: deterministic replays of docs/RACES.md and exhaustive
 * exploration of small cases, on real images.
 *
 * <p><b>Scheduling real threads.</b> {@link org.ext4j.race.Scheduler} installs itself as the
 * interleaving hook. Each actor is a thread running the real code with its real locks; at every
 * named point it parks until the scheduler lets it go, so exactly one actor runs at a time and a
 * schedule is a plain sequence of "let this one go". An actor that is let go may block on a lock
 * held by an actor parked at a point (a folio lock, the mapping lock, the inode lock); the
 * scheduler reads that from the thread's state and treats it as not runnable until the holder
 * moves on. Nothing in the engine knows it is being scheduled.
 *
 * <p><b>Replays.</b> {@link org.ext4j.race.Scenarios} tells each race of docs/RACES.md as a story on a
 * fresh in-memory copy of a {@code mkfs.ext4} image ({@link org.ext4j.race.RaceImage},
 * {@link org.ext4j.race.RaceRun}): set the file up, run the writer to a point, run writeback to
 * another, release, and compare the file with the model in the page cache and, after close, on
 * disk. Each scenario names the protections it covers; with one switched off the same story ends in
 * the corruption that protection prevents. {@code ext4j race} prints the story.
 *
 * <p><b>Exploration.</b> {@link org.ext4j.race.Explorer} enumerates every schedule of two actors
 * over the points (depth-first over the choices, each run replayed from scratch), in the manner of
 * CHESS, and checks every outcome against the outcomes the model allows.
 */
package org.ext4j.race;
